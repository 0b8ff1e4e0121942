import { setTimeout as sleep } from 'node:timers/promises';
import type { Event, EventRegistry } from '@parley/contracts';
import {
  isPermanentError,
  isUnavailableError,
  type BusHandler,
  type DeliveryContext,
} from './bus.js';

/**
 * Work around every handler call (tracing, timing), outermost first. Calls
 * `next()` to go on; throwing counts as a handler failure.
 */
export type Interceptor = (
  event: Event,
  ctx: DeliveryContext,
  next: () => Promise<void>,
) => Promise<void>;

/** How a delivery ended. `stopped`: the subscription stopped midway, so the event stays uncommitted. */
export type DeliveryOutcome = 'ok' | 'skipped' | 'dead_lettered' | 'stopped';

/** Counts deliveries; `kafkaConsumerMetrics` from `@parley/observability` binds it to Prometheus. */
export interface DeliveryMetrics {
  handled(
    group: string,
    topic: string,
    outcome: Exclude<DeliveryOutcome, 'stopped'>,
    durationMs: number,
  ): void;
}

/** The log lines a delivery writes (pino's shape). */
export interface DeliveryLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Retries of one event, the same on both buses. */
export interface RetryPolicy {
  /** Handler attempts before the event is dead-lettered. @default 3 */
  maxAttempts: number;
  /** First retry delay, doubled per attempt. @default 200 */
  retryBackoffMs: number;
  /** Upper bound of a retry delay. @default 5000 */
  maxRetryBackoffMs: number;
  /** Upper bound of the delay between tries while a dependency is unavailable (retried without limit). @default 1000 */
  maxUnavailableBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  retryBackoffMs: 200,
  maxRetryBackoffMs: 5_000,
  maxUnavailableBackoffMs: 1_000,
});

/** Why an event goes to the dead letters. */
export interface DeadLetterNote {
  kind: 'invalid' | 'newer_version' | 'handler_failed' | 'permanent';
  reason: string;
  /** Handler attempts made (0 when the event could not be decoded). */
  attempts: number;
}

/** What one subscription delivers with: the same for each of its events. */
export interface DelivererOptions {
  groupId: string;
  topic: string;
  registry: EventRegistry;
  handler: BusHandler;
  interceptors?: readonly Interceptor[];
  policy?: Partial<RetryPolicy>;
  metrics?: DeliveryMetrics;
  logger?: DeliveryLogger;
}

/** One event as the bus read it, and the bus's own part of its delivery. */
export interface InboundEvent {
  value: Buffer | string | null;
  partition: number;
  offset: string;
  /** Aborted when the subscription stops. */
  signal: AbortSignal;
  /** Writes the event to the dead letters; throwing leaves it uncommitted, to be delivered again. */
  deadLetter(note: DeadLetterNote): Promise<void>;
  /**
   * Runs after each wait for an unavailable dependency (Kafka beats its
   * heartbeat, which throws when the partition moved to another member).
   */
  afterWait?(): Promise<void>;
}

/**
 * The delivery both buses share: decode with the registry, skip unknown
 * types, dead-letter invalid and newer events, call the handler through the
 * interceptors, retry with backoff, keep retrying without counting while a
 * dependency is unavailable, dead-letter after the last attempt or a
 * permanent failure. The bus commits the offset for every outcome except
 * `stopped`.
 */
export function deliverer(
  options: DelivererOptions,
): (event: InboundEvent) => Promise<DeliveryOutcome> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  if (policy.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
  const { groupId, topic, registry, metrics, logger } = options;
  const call = chain(options.interceptors ?? [], options.handler);

  async function handle(event: Event, inbound: InboundEvent): Promise<DeliveryOutcome> {
    const { partition, offset, signal } = inbound;
    const where = { groupId, partition, offset };
    let lastError: unknown;
    let waits = 0;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      if (signal.aborted) return 'stopped';
      try {
        await call(event, { groupId, topic, partition, offset, attempt, signal });
        if (waits > 0) logger?.info({ ...where, waits }, 'Dependency back: handled after waiting');
        return 'ok';
      } catch (err) {
        lastError = err;
        if (signal.aborted) return 'stopped';
        if (isUnavailableError(err)) {
          // A dependency is down (Postgres failing over): wait and try again
          // without using up an attempt; the partition waits behind this event.
          if (waits++ % 20 === 0)
            logger?.warn({ err, ...where, waits }, 'Dependency unavailable: retrying');
          const delay = Math.min(
            policy.maxUnavailableBackoffMs,
            policy.retryBackoffMs * 2 ** Math.min(waits - 1, 10),
          );
          await sleep(delay, undefined, { signal }).catch(() => undefined);
          await inbound.afterWait?.();
          attempt--;
          continue;
        }
        logger?.warn({ err, ...where, attempt, eventId: event.event_id }, 'Handler failed');
        if (isPermanentError(err)) break;
        if (attempt < policy.maxAttempts) {
          const delay = Math.min(
            policy.maxRetryBackoffMs,
            policy.retryBackoffMs * 2 ** (attempt - 1),
          );
          await sleep(delay, undefined, { signal }).catch(() => undefined);
        }
      }
    }
    if (signal.aborted) return 'stopped';
    const reason =
      lastError instanceof Error
        ? `${(lastError as { code?: string }).code ?? lastError.name}: ${lastError.message}`
        : String(lastError);
    await inbound.deadLetter({
      kind: isPermanentError(lastError) ? 'permanent' : 'handler_failed',
      reason,
      attempts: policy.maxAttempts,
    });
    return 'dead_lettered';
  }

  async function decodeAndHandle(inbound: InboundEvent): Promise<DeliveryOutcome> {
    const decoded = registry.decode(inbound.value);
    switch (decoded.kind) {
      case 'unknown_type':
        logger?.debug(
          {
            groupId,
            partition: inbound.partition,
            offset: inbound.offset,
            type: decoded.envelope.type,
          },
          'Skipped event of unknown type',
        );
        return 'skipped';
      case 'invalid':
        await inbound.deadLetter({ kind: 'invalid', reason: decoded.reason, attempts: 0 });
        return 'dead_lettered';
      case 'newer_version':
        await inbound.deadLetter({
          kind: 'newer_version',
          reason: `v${decoded.envelope.schema_version} > v${decoded.newestKnown}`,
          attempts: 0,
        });
        return 'dead_lettered';
      case 'ok':
        return handle(decoded.event, inbound);
    }
  }

  return async (inbound) => {
    const started = performance.now();
    const outcome = await decodeAndHandle(inbound);
    if (outcome !== 'stopped')
      metrics?.handled(groupId, topic, outcome, performance.now() - started);
    return outcome;
  };
}

function chain(interceptors: readonly Interceptor[], handler: BusHandler): BusHandler {
  return interceptors.reduceRight<BusHandler>(
    (next, interceptor) => (event, ctx) => interceptor(event, ctx, () => next(event, ctx)),
    handler,
  );
}
