/**
 * Cockatiel's errors carry a marker property. Its own `isTaskCancelledError`
 * (3.2.1) tests the bulkhead's marker instead, so Parley checks the markers.
 */
const marked = (err: unknown, marker: string): boolean =>
  err instanceof Error && (err as unknown as Record<string, unknown>)[marker] === true;

/** A cockatiel timeout or cancellation. */
export const isCancelled = (err: unknown): boolean => marked(err, 'isTaskCancelledError');
/** A call refused by an open (or full half-open) circuit. */
export const isCircuitOpen = (err: unknown): boolean => marked(err, 'isBrokenCircuitError');
/** A call refused by a full bulkhead. */
export const isBulkheadFull = (err: unknown): boolean => marked(err, 'isBulkheadRejectedError');

/** What kind of failure an error is, for retries, breakers and failover. */
export type FailureKind =
  | 'timeout'
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'circuit_open'
  | 'overloaded'
  | 'client'
  | 'unknown';

/** How a failure should be treated. */
export interface Classification {
  kind: FailureKind;
  /** Trying the same call again may succeed. */
  retryable: boolean;
  /** The server's own `Retry-After` (or `retry-after-ms`), when it sent one. */
  retryAfterMs?: number;
  /** HTTP status, when the error carries one. */
  status?: number;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Classifies an error from an SDK (OpenAI, Anthropic and Google errors carry
 * `status` and `headers`), `fetch`, Node's network stack or a policy:
 * timeouts, 408, 409, 429, 5xx and network errors are retryable; other 4xx,
 * open circuits and full bulkheads are not (fail fast, try elsewhere).
 */
export function classify(err: unknown): Classification {
  if (isCancelled(err)) return { kind: 'timeout', retryable: true };
  if (isCircuitOpen(err)) return { kind: 'circuit_open', retryable: false };
  if (isBulkheadFull(err)) return { kind: 'overloaded', retryable: false };
  const e = (err ?? {}) as {
    status?: unknown;
    statusCode?: unknown;
    code?: unknown;
    name?: unknown;
    headers?: unknown;
    cause?: unknown;
  };
  const status =
    typeof e.status === 'number'
      ? e.status
      : typeof e.statusCode === 'number'
        ? e.statusCode
        : undefined;
  if (status !== undefined) {
    const retryAfterMs = retryAfter(e.headers);
    const base = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (status === 429) return { kind: 'rate_limited', retryable: true, ...base };
    if (status === 408) return { kind: 'timeout', retryable: true, ...base };
    if (status === 409 || status >= 500) return { kind: 'server', retryable: true, ...base };
    if (status >= 400) return { kind: 'client', retryable: false, ...base };
  }
  if (e.name === 'TimeoutError') return { kind: 'timeout', retryable: true };
  if (typeof e.name === 'string' && /APIConnection(Timeout)?Error/.test(e.name))
    return { kind: e.name.includes('Timeout') ? 'timeout' : 'network', retryable: true };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code))
    return { kind: 'network', retryable: true };
  if (e.cause && e.cause !== err) {
    const inner = classify(e.cause);
    if (inner.kind !== 'unknown') return inner;
  }
  if (err instanceof TypeError && /fetch failed|terminated|network/i.test(err.message))
    return { kind: 'network', retryable: true };
  return { kind: 'unknown', retryable: false };
}

/** Reads `retry-after-ms` or `Retry-After` (seconds or an HTTP date) from headers of any common shape. */
export function retryAfter(headers: unknown, now = Date.now()): number | undefined {
  const get = (name: string): string | undefined => {
    if (!headers || typeof headers !== 'object') return undefined;
    if (typeof (headers as Headers).get === 'function')
      return (headers as Headers).get(name) ?? undefined;
    const record = headers as Record<string, unknown>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    const value = key === undefined ? undefined : record[key];
    return Array.isArray(value)
      ? String(value[0])
      : value === undefined
        ? undefined
        : String(value);
  };
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && get('retry-after-ms') !== undefined) return ms;
  const raw = get('retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
