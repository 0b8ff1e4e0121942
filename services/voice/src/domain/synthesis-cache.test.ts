import { describe, expect, it } from 'vitest';
import { CachedSynthesizer } from './synthesis-cache.js';
import type { Synthesizer } from './speech.js';

const ctx = (signal = new AbortController().signal) => ({ language: 'en', signal });

describe('the synthesis cache', () => {
  it('synthesizes a repeated short sentence once, even when asked concurrently', async () => {
    let calls = 0;
    const inner: Synthesizer = {
      name: 'count',
      synthesize: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return new Int16Array(10);
      },
    };
    const cached = new CachedSynthesizer(inner);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => cached.synthesize('Hello there.', ctx())),
    );
    expect(new Set(results).size).toBe(1);
    await cached.synthesize('Hello there.', ctx());
    expect(calls).toBe(1);
    await cached.synthesize('Hello there.', { ...ctx(), language: 'de' });
    await cached.synthesize('x'.repeat(500), ctx());
    await cached.synthesize('x'.repeat(500), ctx());
    expect(calls).toBe(4); // another language, and long texts, are not shared
  });

  it("lets one caller give up without cancelling the others' shared synthesis", async () => {
    const inner: Synthesizer = {
      name: 'slow',
      synthesize: (_t, c) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve(new Int16Array(5)), 50);
          c.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        }),
    };
    const cached = new CachedSynthesizer(inner);
    const leaving = new AbortController();
    const first = cached.synthesize('Hi.', ctx(leaving.signal));
    const second = cached.synthesize('Hi.', ctx());
    leaving.abort(new Error('hung up'));
    await expect(first).rejects.toThrow('hung up');
    expect((await second).length).toBe(5);
  });
});
