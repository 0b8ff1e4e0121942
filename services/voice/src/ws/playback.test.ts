import { describe, expect, it } from 'vitest';
import { PacedPlayback, Ticker } from './playback.js';

describe('paced playback', () => {
  it('sends 20 ms frames in real time, not all at once, and resolves once played', async () => {
    const sentAt: number[] = [];
    let marks = 0;
    const playback = new PacedPlayback(
      () => sentAt.push(Date.now()),
      new Ticker(),
      () => marks++,
    );
    const start = Date.now();
    const played = await playback.play(new Uint8Array(160 * 25)); // 500 ms
    const took = Date.now() - start;
    expect(played).toBe(true);
    expect(sentAt).toHaveLength(25);
    expect(marks).toBe(1);
    // Three frames go out at once (the lead), the rest as they are due.
    expect(sentAt[24]! - start).toBeGreaterThanOrEqual(400);
    expect(took).toBeGreaterThanOrEqual(480);
  });

  it('drops what was not sent on clear, and the pending play resolves false', async () => {
    let sent = 0;
    const playback = new PacedPlayback(() => sent++, new Ticker());
    const started = performance.now();
    const played = playback.play(new Uint8Array(160 * 100)); // 2 s
    await new Promise((r) => setTimeout(r, 200));
    playback.clear();
    const elapsed = performance.now() - started;
    expect(await played).toBe(false);
    const atClear = sent;
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toBe(atClear);
    // Paced: about one 20 ms frame per 20 ms until the clear (timers run late on a busy machine).
    expect(atClear).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 2);
    expect(atClear).toBeLessThan(100);
    expect(playback.active).toBe(false);
  });
});
