import { describe, expect, it } from 'vitest';
import { soundsLikeWords, syllableCount } from './syllables.js';

/** 20 ms of a 300 Hz-ish tone at `db` dBFS. */
const frame = (db: number) => {
  const amplitude = 32_768 * 10 ** (db / 20) * Math.SQRT2;
  return Int16Array.from({ length: 160 }, (_, i) => Math.round(amplitude * Math.sin(i / 4)));
};
const run = (db: number, ms: number) => Array.from({ length: ms / 20 }, () => frame(db));
const quiet = (ms: number) => run(-70, ms);
/** Syllables of `ms` each at -20 dBFS, with 60 ms at -34 dBFS between them. */
const syllables = (n: number, ms = 160) =>
  Array.from({ length: n }, (_, i) => [...(i > 0 ? run(-34, 60) : []), ...run(-20, ms)]).flat();

describe('syllableCount', () => {
  it('counts the loudness peaks of speech, and one for a cough or a held "mhm"', () => {
    expect(syllableCount([...quiet(200), ...syllables(5), ...quiet(100)])).toBe(5);
    expect(syllableCount([...quiet(200), ...run(-15, 120), ...quiet(200)])).toBe(1); // a cough
    expect(syllableCount([...quiet(200), ...run(-25, 400), ...quiet(200)])).toBe(1); // "mhm"
    expect(syllableCount([])).toBe(0);
  });

  it('ignores ripples smaller than a syllable’s dip, and the line’s noise', () => {
    const rippled = Array.from({ length: 40 }, (_, i) => frame(i % 2 === 0 ? -20 : -22));
    expect(syllableCount([...quiet(200), ...rippled, ...quiet(100)])).toBe(1);
    const hiss = Array.from({ length: 50 }, (_, i) => frame(i % 3 === 0 ? -58 : -66));
    expect(syllableCount(hiss)).toBe(0);
  });
});

describe('soundsLikeWords', () => {
  it('takes a question for words, and a cough, a double cough or an "mhm" for noise', () => {
    expect(soundsLikeWords([...quiet(200), ...syllables(5), ...quiet(100)])).toBe(true);
    expect(soundsLikeWords([...quiet(200), ...syllables(3), ...quiet(100)])).toBe(true);
    expect(soundsLikeWords([...quiet(200), ...syllables(2, 120), ...quiet(200)])).toBe(false);
    expect(soundsLikeWords([...quiet(200), ...run(-25, 500), ...quiet(200)])).toBe(false);
  });
});
