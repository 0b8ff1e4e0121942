import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { classify, retryAfter } from './classify.js';

const http = (status: number, headers?: Record<string, string>) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('classify', () => {
  it('retries timeouts, 408, 409, 429, 5xx and network errors', () => {
    expect(classify(new TaskCancelledError())).toMatchObject({ kind: 'timeout', retryable: true });
    expect(classify(http(429))).toMatchObject({ kind: 'rate_limited', retryable: true });
    expect(classify(http(408)).retryable).toBe(true);
    expect(classify(http(409)).retryable).toBe(true);
    expect(classify(http(503))).toMatchObject({ kind: 'server', retryable: true, status: 503 });
    expect(classify(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toMatchObject({
      kind: 'network',
      retryable: true,
    });
    expect(
      classify(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
        }),
      ),
    ).toMatchObject({ kind: 'network' });
    expect(
      classify(Object.assign(new Error('t'), { name: 'APIConnectionTimeoutError' })).kind,
    ).toBe('timeout');
  });

  it('does not retry caller errors, open circuits or a full bulkhead', () => {
    expect(classify(http(400))).toMatchObject({ kind: 'client', retryable: false });
    expect(classify(http(401)).retryable).toBe(false);
    expect(classify(new BrokenCircuitError())).toMatchObject({
      kind: 'circuit_open',
      retryable: false,
    });
    expect(classify(new BulkheadRejectedError(1, 0))).toMatchObject({ kind: 'overloaded' });
    expect(classify(new Error('who knows'))).toMatchObject({ kind: 'unknown', retryable: false });
  });

  it('reads Retry-After in seconds, as an HTTP date, and retry-after-ms, from any header shape', () => {
    expect(classify(http(429, { 'Retry-After': '3' })).retryAfterMs).toBe(3_000);
    expect(classify(http(429, { 'retry-after-ms': '250' })).retryAfterMs).toBe(250);
    expect(retryAfter(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(retryAfter({ 'retry-after': 'Wed, 25 Nov 2026 12:00:05 GMT' }, now)).toBe(5_000);
    expect(retryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfter(undefined)).toBeUndefined();
  });
});
