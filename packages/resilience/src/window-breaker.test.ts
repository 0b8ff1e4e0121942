import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { isCircuitOpen as isBrokenCircuitError } from './classify.js';
import { BREAKER_PRESETS } from './presets.js';
import { WindowBreaker, type BreakerState } from './window-breaker.js';

const boom = () => Object.assign(new Error('upstream 503'), { status: 503 });
const fail = (b: WindowBreaker) => b.execute(() => Promise.reject(boom())).catch((e: unknown) => e);
const ok = (b: WindowBreaker) => b.execute(() => 'ok');

describe('WindowBreaker (LLM preset: 3 failures in 30 s, open 15 s, 2 probes, 2 successes)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('opens on the third failure within the window and rejects without calling', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    const states: BreakerState[] = [];
    breaker.onStateChange((s) => states.push(s));
    await fail(breaker);
    vi.advanceTimersByTime(10_000);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    vi.advanceTimersByTime(10_000);
    await fail(breaker);
    expect(breaker.state).toBe('open');
    const call = vi.fn(() => 'never');
    expect(isBrokenCircuitError(await breaker.execute(call).catch((e: unknown) => e))).toBe(true);
    expect(call).not.toHaveBeenCalled();
    expect(states).toEqual(['open']);
  });

  it('half-opens at once when a health check saw the dependency back, and reopens on a failed probe', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 3; i++) await fail(breaker);
    expect(breaker.state).toBe('open');
    breaker.probeNow();
    expect(breaker.state).toBe('half_open');
    await fail(breaker);
    expect(breaker.state).toBe('open');
    breaker.probeNow();
    await ok(breaker);
    await ok(breaker);
    expect(breaker.state).toBe('closed');
    breaker.probeNow(); // closed: nothing to end
    expect(breaker.state).toBe('closed');
  });

  it('forgets failures older than the window', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    await fail(breaker);
    await fail(breaker);
    vi.advanceTimersByTime(30_001);
    await fail(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', recentFailures: 1 });
  });

  it('does not count errors the caller caused (a 400)', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 5; i++)
      await breaker
        .execute(() => Promise.reject(Object.assign(new Error('bad'), { status: 400 })))
        .catch(() => undefined);
    expect(breaker.state).toBe('closed');
  });

  it('half-opens after 15 s, lets two probes through at once and rejects a third', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 3; i++) await fail(breaker);
    vi.advanceTimersByTime(14_999);
    expect(breaker.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half_open');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const probes = [breaker.execute(() => gate), breaker.execute(() => gate)];
    expect(
      isBrokenCircuitError(await breaker.execute(() => 'third').catch((e: unknown) => e)),
    ).toBe(true);
    release();
    await Promise.all(probes);
    expect(breaker.state).toBe('closed');
  });

  it('needs two probe successes to close, and reopens for 15 s on a failed probe', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 3; i++) await fail(breaker);
    vi.advanceTimersByTime(15_000);
    await ok(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', probeSuccesses: 1 });
    await fail(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 30_000 });
    vi.advanceTimersByTime(15_000);
    await ok(breaker);
    await ok(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('admits a stream by permit, counts its one reported outcome, and holds a half-open slot until then', () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 3; i++) {
      const permit = breaker.admit();
      permit.failed(boom());
      permit.failed(boom()); // a second report is ignored
    }
    expect(breaker.state).toBe('open');
    expect(() => breaker.admit()).toThrow(/open/i);
    vi.advanceTimersByTime(15_000);
    const probes = [breaker.admit(), breaker.admit()];
    expect(() => breaker.admit()).toThrow();
    probes[0]!.succeeded();
    expect(breaker.state).toBe('half_open');
    probes[1]!.succeeded();
    expect(breaker.state).toBe('closed');
  });

  it('closes and forgets on reset', async () => {
    const breaker = new WindowBreaker(BREAKER_PRESETS.llm);
    for (let i = 0; i < 3; i++) await fail(breaker);
    breaker.reset();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', recentFailures: 0 });
    expect(await ok(breaker)).toBe('ok');
  });

  it('refuses impossible settings', () => {
    expect(() => new WindowBreaker({ ...BREAKER_PRESETS.llm, halfOpenMaxCalls: 0 })).toThrow(
      'halfOpenMaxCalls must be at least 1',
    );
  });
});

/**
 * Property: for any sequence of calls (success or failure) separated by any
 * delays, the breaker agrees with a plain model of the design's rules: open
 * after N failures in the window, reject for `openMs`, then up to
 * `halfOpenMaxCalls` probes, closed after `halfOpenSuccesses`, reopened by
 * one failed probe.
 */
describe('WindowBreaker properties', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const step = fc.record({ waitMs: fc.integer({ min: 0, max: 20_000 }), succeeds: fc.boolean() });
  const settings = fc.record({
    failureThreshold: fc.integer({ min: 1, max: 5 }),
    windowMs: fc.integer({ min: 1_000, max: 60_000 }),
    openMs: fc.integer({ min: 1_000, max: 60_000 }),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    halfOpenSuccesses: fc.integer({ min: 1, max: 3 }),
  });

  it('opens exactly when the model says, runs no call while open, and closes after enough probe successes', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(step, { maxLength: 60 }), async (opts, steps) => {
        vi.setSystemTime(0);
        const breaker = new WindowBreaker(opts);
        // The model.
        let state: BreakerState = 'closed';
        let failures: number[] = [];
        let openedAt = 0;
        let successes = 0;
        for (const { waitMs, succeeds } of steps) {
          vi.advanceTimersByTime(waitMs);
          const now = Date.now();
          if (state === 'open' && now - openedAt >= opts.openMs) {
            state = 'half_open';
            successes = 0;
          }
          let ran = false;
          const outcome = await breaker
            .execute(() => {
              ran = true;
              return succeeds ? 'ok' : Promise.reject(boom());
            })
            .then(
              () => 'ok',
              (e: unknown) => (isBrokenCircuitError(e) ? 'rejected' : 'failed'),
            );
          if (state === 'open') {
            expect(outcome).toBe('rejected');
            expect(ran).toBe(false);
          } else if (state === 'half_open') {
            expect(ran).toBe(true);
            if (succeeds && ++successes >= opts.halfOpenSuccesses) {
              state = 'closed';
              failures = [];
            } else if (!succeeds) {
              state = 'open';
              openedAt = now;
            }
          } else {
            expect(ran).toBe(true);
            if (!succeeds) {
              failures = [...failures.filter((t) => now - t < opts.windowMs), now];
              if (failures.length >= opts.failureThreshold) {
                state = 'open';
                openedAt = now;
                failures = [];
              }
            }
          }
          expect(breaker.state).toBe(state);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('never runs more than halfOpenMaxCalls probes at once', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.integer({ min: 1, max: 10 }), async (opts, callers) => {
        vi.setSystemTime(0);
        const breaker = new WindowBreaker(opts);
        for (let i = 0; i < opts.failureThreshold; i++) await fail(breaker);
        vi.advanceTimersByTime(opts.openMs);
        let running = 0;
        let most = 0;
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const calls = Array.from({ length: callers }, () =>
          breaker
            .execute(async () => {
              most = Math.max(most, ++running);
              await gate;
              running--;
            })
            .catch(() => undefined),
        );
        release();
        await Promise.all(calls);
        expect(most).toBeLessThanOrEqual(opts.halfOpenMaxCalls);
        expect(most).toBe(Math.min(callers, opts.halfOpenMaxCalls));
      }),
      { numRuns: 100 },
    );
  });
});
