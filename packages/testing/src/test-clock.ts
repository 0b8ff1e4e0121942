/** A timer of a {@link TestClock}: what its `setTimeout` and `setInterval` return. */
export interface TestTimer {
  /** For code that unrefs its timers: does nothing here. */
  unref(): TestTimer;
  /** For code that refs its timers: does nothing here. */
  ref(): TestTimer;
  hasRef(): boolean;
}

interface Scheduled {
  due: number;
  /** Creation order: timers due at the same time fire in the order they were set. */
  order: number;
  /** The period of an interval; undefined for a timeout. */
  every: number | undefined;
  run: () => unknown;
}

/**
 * A clock that moves only when a test moves it, for code that takes its time
 * as a function (`now: () => number`, or `() => Date`) and, where it waits,
 * its timers (`setTimeout`/`clearTimeout`, `setInterval`/`clearInterval`).
 * Its methods are bound, so they can be handed over as they are:
 *
 * ```ts
 * const clock = new TestClock();
 * const sessions = new ActiveSessions(300_000, 1_000, clock.now); // `now?: () => number`
 * clock.setTimeout(() => seen.push(sessions.count()), 10_000); // or hand `clock.setTimeout` over
 * clock.advance(300_000); // fires, in order, every timer due on the way, at its own time
 * await clock.advanceAsync(1_000); // the same, letting promises settle after each timer
 * ```
 *
 * It replaces nothing global: code that calls `Date.now()` or the global
 * timers itself needs vitest's fake timers (`vi.useFakeTimers()`) instead.
 */
export class TestClock {
  /** Where a clock starts unless told: 2025-01-01T00:00:00Z. */
  static readonly START = Date.UTC(2025, 0, 1);

  private time: number;
  private order = 0;
  private readonly timers = new Map<TestTimer, Scheduled>();

  constructor(start: number | Date = TestClock.START) {
    this.time = typeof start === 'number' ? start : start.getTime();
  }

  /** Milliseconds since the epoch on this clock. */
  readonly now = (): number => this.time;

  /** This clock's time as a Date (a new one each call). */
  readonly date = (): Date => new Date(this.time);

  /** Runs `run` once `ms` have passed on this clock (at once on the next advance for 0 or less). */
  readonly setTimeout = (run: () => unknown, ms = 0): TestTimer =>
    this.schedule(run, Math.max(0, finite(ms)), undefined);

  /** Runs `run` every `ms` (at least 1) on this clock until cleared. */
  readonly setInterval = (run: () => unknown, ms = 1): TestTimer => {
    const every = Math.max(1, finite(ms));
    return this.schedule(run, every, every);
  };

  /** Cancels a timer; an unknown, fired or already cleared one is ignored. */
  readonly clearTimeout = (timer: TestTimer | undefined): void => {
    if (timer) this.timers.delete(timer);
  };

  /** The same as {@link clearTimeout}. */
  readonly clearInterval = (timer: TestTimer | undefined): void => this.clearTimeout(timer);

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves the clock `ms` forward. Each timer due on the way fires at its own
   * time (`now()` reads its due time inside it), earliest first, including
   * timers set by the ones that fire; an interval fires once per period.
   */
  advance(ms: number): void {
    const target = this.target(ms);
    for (let next = this.due(target); next; next = this.due(target)) this.fire(next);
    this.time = target;
  }

  /**
   * {@link advance} for asynchronous code: lets pending promises settle
   * before the first timer, after each one, and at the end, so that what a
   * timer's promise goes on to do (and the timers it sets) happens in time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.target(ms);
    await settle();
    for (let next = this.due(target); next; next = this.due(target)) {
      this.fire(next);
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Moves the clock to `time` (not backwards), firing what is due on the way. */
  advanceTo(time: number | Date): void {
    this.advance((typeof time === 'number' ? time : time.getTime()) - this.time);
  }

  private target(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`a clock moves forward by a finite number of ms, not ${ms}`);
    return this.time + ms;
  }

  private schedule(run: () => unknown, delay: number, every: number | undefined): TestTimer {
    const timer: TestTimer = {
      unref: () => timer,
      ref: () => timer,
      hasRef: () => true,
    };
    this.timers.set(timer, { due: this.time + delay, order: this.order++, every, run });
    return timer;
  }

  /** The earliest timer due by `target`, or undefined. */
  private due(target: number): [TestTimer, Scheduled] | undefined {
    let found: [TestTimer, Scheduled] | undefined;
    for (const entry of this.timers) {
      const [, s] = entry;
      if (s.due > target) continue;
      if (!found || s.due < found[1].due || (s.due === found[1].due && s.order < found[1].order))
        found = entry;
    }
    return found;
  }

  private fire([timer, scheduled]: [TestTimer, Scheduled]): void {
    this.time = scheduled.due;
    if (scheduled.every === undefined) this.timers.delete(timer);
    else
      this.timers.set(timer, {
        ...scheduled,
        due: scheduled.due + scheduled.every,
        order: this.order++,
      });
    scheduled.run();
  }
}

const finite = (ms: number): number => (Number.isFinite(ms) ? ms : 0);

/** Lets the promises pending now, and those they chain, settle (the real event loop's next turn). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
