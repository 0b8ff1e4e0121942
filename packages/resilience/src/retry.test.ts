import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RETRY_PRESETS } from './presets.js';
import { retryPolicy, scheduledDelay } from './retry.js';

const http = (status: number, headers?: Record<string, string>) =>
  Object.assign(new Error(`HTTP ${status}`), { status, headers });

describe('retry schedules', () => {
  it('uses full jitter up to 1 s, 2 s, 4 s for the LLM preset', () => {
    const { schedule } = RETRY_PRESETS.llm;
    expect([0, 1, 2].map((n) => scheduledDelay(schedule, n, () => 1))).toEqual([
      1_000, 2_000, 4_000,
    ]);
    expect(scheduledDelay(schedule, 5, () => 1)).toBe(4_000);
    expect(scheduledDelay(schedule, 2, () => 0)).toBe(0);
    expect(scheduledDelay(schedule, 1, () => 0.5)).toBe(1_000);
  });

  it('waits linearly for knowledge, and on a fixed table when given one', () => {
    expect([0, 1].map((n) => scheduledDelay(RETRY_PRESETS.knowledge.schedule, n))).toEqual([
      200, 400,
    ]);
    const table = { kind: 'fixed', delaysMs: [1_000, 5_000, 30_000] } as const;
    expect([0, 1, 2].map((n) => scheduledDelay(table, n))).toEqual([1_000, 5_000, 30_000]);
  });
});

describe('retryPolicy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('retries a retryable failure on schedule and returns the first success', async () => {
    const policy = retryPolicy({ retries: 2, schedule: { kind: 'linear', stepMs: 500 } });
    const delays: number[] = [];
    policy.onRetry(({ delay }) => delays.push(delay));
    let calls = 0;
    const result = policy.execute(() => (++calls < 3 ? Promise.reject(http(503)) : 'customer'));
    await vi.runAllTimersAsync();
    expect(await result).toBe('customer');
    expect(calls).toBe(3);
    expect(delays).toEqual([500, 1_000]);
  });

  it('gives up after the last retry with the last error', async () => {
    const policy = retryPolicy({ ...RETRY_PRESETS.knowledge });
    let calls = 0;
    const result = policy.execute(() => Promise.reject(http(502 + calls++))).catch((e: Error) => e);
    await vi.runAllTimersAsync();
    expect((await result).message).toBe('HTTP 504');
    expect(calls).toBe(3);
  });

  it('never retries a caller error, nor anything with no retries', async () => {
    const call = vi.fn(() => Promise.reject(http(400)));
    await retryPolicy({ ...RETRY_PRESETS.llm })
      .execute(call)
      .catch(() => undefined);
    expect(call).toHaveBeenCalledTimes(1);
    const pay = vi.fn(() => Promise.reject(http(503)));
    await retryPolicy({ retries: 0, schedule: { kind: 'fixed', delaysMs: [] } })
      .execute(pay)
      .catch(() => undefined);
    expect(pay).toHaveBeenCalledTimes(1);
  });

  it("waits at least the server's Retry-After, and gives up when it is longer than allowed", async () => {
    const policy = retryPolicy({ ...RETRY_PRESETS.llm, random: () => 0 });
    const delays: number[] = [];
    policy.onRetry(({ delay }) => delays.push(delay));
    let calls = 0;
    const result = policy.execute(() =>
      ++calls === 1 ? Promise.reject(http(429, { 'retry-after': '7' })) : 'answer',
    );
    await vi.runAllTimersAsync();
    expect(await result).toBe('answer');
    expect(delays).toEqual([7_000]);

    const patient = retryPolicy({ ...RETRY_PRESETS.llm, maxRetryAfterMs: 5_000 });
    const slow = vi.fn(() => Promise.reject(http(429, { 'retry-after': '60' })));
    await patient.execute(slow).catch(() => undefined);
    expect(slow).toHaveBeenCalledTimes(1);
  });
});
