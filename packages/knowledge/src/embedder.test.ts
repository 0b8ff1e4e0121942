import { describe, expect, it } from 'vitest';
import { OfflineEmbedder, cosine } from './embedder.js';

describe('OfflineEmbedder', () => {
  const embedder = new OfflineEmbedder();
  const similarity = async (a: string, b: string) => {
    const [x, y] = await embedder.embed([a, b]);
    return cosine(x!, y!);
  };

  it('gives deterministic unit vectors of its size, and zero for an empty text', async () => {
    const [a, b, empty] = await embedder.embed([
      'How do I get a refund?',
      'How do I get a refund?',
      '',
    ]);
    expect(a).toHaveLength(384);
    expect(a).toEqual(b);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 6);
    expect(empty!.every((x) => x === 0)).toBe(true);
  });

  it('puts a question closer to the passage that answers it than to an unrelated one', async () => {
    const question = 'How long does a refund take?';
    const answer = 'Refunds are processed within 5 business days of the return arriving.';
    const other = 'Our offices are open Monday to Friday from 9:00 to 17:00.';
    expect(await similarity(question, answer)).toBeGreaterThan(await similarity(question, other));
  });

  it('matches word forms, misspellings and support synonyms', async () => {
    const base = 'Shipping to Canada';
    expect(await similarity('shipments to canada', base)).toBeGreaterThan(0.3);
    expect(await similarity('shiping to canda', base)).toBeGreaterThan(0.2);
    // "money back" and "refund" share a concept; "weather" shares nothing.
    expect(await similarity('I want my money back', 'Refund policy')).toBeGreaterThan(
      await similarity('I want my money back', 'Weather forecast'),
    );
  });
});
