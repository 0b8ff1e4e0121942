import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, decodeMulaw, encodeMulaw, frames } from './codec.js';

describe('mu-law audio', () => {
  it('round-trips a tone within mu-law quantization', () => {
    const tone = Int16Array.from({ length: 800 }, (_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)),
    );
    const back = decodeMulaw(encodeMulaw(tone));
    expect(back).toHaveLength(tone.length);
    for (let i = 0; i < tone.length; i++)
      expect(Math.abs(back[i]! - tone[i]!)).toBeLessThanOrEqual(Math.abs(tone[i]!) / 16 + 16);
  });

  it('cuts audio into 20 ms frames, padding the last with silence', () => {
    const out = frames(new Uint8Array(FRAME_BYTES * 2 + 10).fill(1));
    expect(out.map((f) => f.length)).toEqual([FRAME_BYTES, FRAME_BYTES, FRAME_BYTES]);
    expect(out[2]!.subarray(0, 10).every((b) => b === 1)).toBe(true);
    expect(out[2]!.subarray(10).every((b) => b === 0xff)).toBe(true);
  });
});
