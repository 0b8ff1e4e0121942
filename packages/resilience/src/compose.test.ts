import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  isBulkheadFull as isBulkheadRejectedError,
  isCancelled as isTaskCancelledError,
  isCircuitOpen as isBrokenCircuitError,
} from './classify.js';
import { dependencyPolicy, type ResilienceSink } from './compose.js';
import { BREAKER_PRESETS, RETRY_PRESETS } from './presets.js';

const NO_RETRY = { retries: 0, schedule: { kind: 'fixed', delaysMs: [] } } as const;

function recordingSink() {
  const events: string[] = [];
  const sink: ResilienceSink = {
    stateChanged: (d, s) => events.push(`${d} ${s}`),
    retried: (d, attempt) => events.push(`${d} retry ${attempt}`),
    rejected: (d, why) => events.push(`${d} rejected ${why}`),
  };
  return { sink, events };
}

describe('dependencyPolicy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('times out a hanging call, counts it against the breaker, and stops retrying once the circuit opens', async () => {
    const { sink, events } = recordingSink();
    const { policy, breaker } = dependencyPolicy({
      name: 'llm:test',
      timeoutMs: 5_000,
      retry: { ...RETRY_PRESETS.llm, random: () => 0 },
      breaker: BREAKER_PRESETS.llm,
      sink,
    });
    const hang = vi.fn(() => new Promise(() => undefined));
    const result = policy.execute(hang).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const err = await result;
    // Three timed-out attempts open the breaker; the fourth attempt is refused without a call.
    expect(hang).toHaveBeenCalledTimes(3);
    expect(isBrokenCircuitError(err)).toBe(true);
    expect(breaker.state).toBe('open');
    expect(events).toEqual([
      'llm:test retry 1',
      'llm:test retry 2',
      'llm:test open',
      'llm:test retry 3',
      'llm:test rejected circuit_open',
    ]);
  });

  it('passes a timed-out attempt as a cancellation the caller can see', async () => {
    const { policy } = dependencyPolicy({
      name: 'crm',
      timeoutMs: 100,
      retry: NO_RETRY,
      breaker: BREAKER_PRESETS.knowledge,
    });
    let aborted = false;
    const result = policy
      .execute(
        ({ signal }) => new Promise(() => signal.addEventListener('abort', () => (aborted = true))),
      )
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(isTaskCancelledError(await result)).toBe(true);
    expect(aborted).toBe(true);
  });

  it('bounds concurrency with a bulkhead and rejects beyond its queue', async () => {
    const { sink, events } = recordingSink();
    const { policy } = dependencyPolicy({
      name: 'crm',
      timeoutMs: 10_000,
      retry: NO_RETRY,
      breaker: BREAKER_PRESETS.knowledge,
      bulkhead: { limit: 2, queue: 1 },
      sink,
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = Array.from({ length: 4 }, () =>
      policy.execute(() => gate).catch((e: unknown) => e),
    );
    release();
    const results = await Promise.all(calls);
    expect(results.filter((r) => isBulkheadRejectedError(r))).toHaveLength(1);
    expect(events).toEqual(['crm rejected bulkhead_full']);
  });
});
