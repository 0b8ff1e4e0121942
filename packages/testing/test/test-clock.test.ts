import { describe, expect, it } from 'vitest';
import { TestClock } from '../src/index.js';

/** Domain code as it takes its time today: a `now` function, defaulting to `Date.now`. */
class Window {
  private readonly seen: number[] = [];
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}
  touch(): void {
    this.seen.push(this.now());
  }
  count(): number {
    return this.seen.filter((at) => this.now() - at < this.windowMs).length;
  }
}

describe('TestClock', () => {
  it('tells the time it was given, as a number and as a Date, until moved', () => {
    const clock = new TestClock(new Date('2030-05-06T07:08:09Z'));
    expect(clock.now()).toBe(Date.UTC(2030, 4, 6, 7, 8, 9));
    expect(clock.date().toISOString()).toBe('2030-05-06T07:08:09.000Z');
    clock.advance(1_500);
    expect(clock.date().toISOString()).toBe('2030-05-06T07:08:10.500Z');
    expect(new TestClock().now()).toBe(TestClock.START);
  });

  it('drives code that takes `now: () => number`, handed over unbound', () => {
    const clock = new TestClock();
    const window = new Window(60_000, clock.now);
    window.touch();
    clock.advance(59_999);
    window.touch();
    expect(window.count()).toBe(2);
    clock.advance(1);
    expect(window.count()).toBe(1);
  });

  it('fires each timer due on the way at its own time, earliest first, those they set included', () => {
    const clock = new TestClock(0);
    const fired: Array<[string, number]> = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('late'), 300);
    clock.setTimeout(at('early'), 100);
    clock.setTimeout(at('also-early'), 100);
    clock.setTimeout(() => {
      at('chained')();
      clock.setTimeout(at('from-chained'), 50);
    }, 200);
    clock.setTimeout(at('beyond'), 1_000);
    clock.advance(299);
    expect(fired).toEqual([
      ['early', 100],
      ['also-early', 100],
      ['chained', 200],
      ['from-chained', 250],
    ]);
    expect([clock.now(), clock.pending]).toEqual([299, 2]);
    clock.advance(1);
    expect(fired.at(-1)).toEqual(['late', 300]);
  });

  it('fires a timeout of 0 on the next advance, even by 0, and never a cleared one', () => {
    const clock = new TestClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('now'));
    const cleared = clock.setTimeout(() => fired.push('cleared'), 10);
    clock.clearTimeout(cleared);
    clock.clearTimeout(cleared);
    clock.clearTimeout(undefined);
    expect(fired).toEqual([]);
    clock.advance(0);
    clock.advance(100);
    expect(fired).toEqual(['now']);
    expect(clock.pending).toBe(0);
  });

  it('fires an interval once per period until cleared, also from inside itself', () => {
    const clock = new TestClock(0);
    const ticks: number[] = [];
    const timer = clock.setInterval(() => {
      ticks.push(clock.now());
      if (ticks.length === 4) clock.clearInterval(timer);
    }, 1_000);
    expect(timer.unref()).toBe(timer);
    clock.advance(2_500);
    expect(ticks).toEqual([1_000, 2_000]);
    clock.advance(10_000);
    expect(ticks).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(clock.pending).toBe(0);
  });

  it('lets promises settle between timers with advanceAsync', async () => {
    const clock = new TestClock(0);
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const steps: number[] = [];
    const work = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        steps.push(clock.now());
      }
    })();
    await clock.advanceAsync(250);
    expect(steps).toEqual([100, 200]);
    await clock.advanceAsync(50);
    await work;
    expect(steps).toEqual([100, 200, 300]);
  });

  it('moves to a time, never backwards', () => {
    const clock = new TestClock(1_000);
    clock.advanceTo(new Date(5_000));
    expect(clock.now()).toBe(5_000);
    expect(() => clock.advanceTo(4_000)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });
});
