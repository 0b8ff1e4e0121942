import { describe, expect, it } from 'vitest';
import { chunkDocument, sectionsOf } from './chunker.js';

describe('sectionsOf', () => {
  it('splits Markdown by heading, keeping the heading path and plain text', () => {
    const sections = sectionsOf(
      'markdown',
      [
        'Intro for everyone.',
        '# Billing',
        'We bill **monthly**. See [the pricing page](https://x.test/pricing).',
        '## Refunds',
        '- Refunds take 5 days.',
        '- Ask support.',
        '# Shipping',
        'Parcels ship in 2 days.',
      ].join('\n\n'),
      'Help',
    );
    expect(sections).toEqual([
      { headings: ['Help'], text: 'Intro for everyone.' },
      { headings: ['Help', 'Billing'], text: 'We bill monthly. See the pricing page.' },
      { headings: ['Help', 'Billing', 'Refunds'], text: 'Refunds take 5 days.\nAsk support.' },
      { headings: ['Help', 'Shipping'], text: 'Parcels ship in 2 days.' },
    ]);
  });

  it('splits HTML by h1-h6 and drops scripts, images and link targets', () => {
    const sections = sectionsOf(
      'html',
      `<html><head><style>p{}</style></head><body><nav>Menu</nav>
       <h1>Account</h1><p>Reset your <a href="/reset">password</a> from the sign-in page.</p>
       <script>alert(1)</script><img src="x.png" alt="x">
       <h2>Delete</h2><p>Email us to delete your account.</p></body></html>`,
      'FAQ',
    );
    expect(sections).toEqual([
      { headings: ['FAQ', 'Account'], text: 'Reset your password from the sign-in page.' },
      { headings: ['FAQ', 'Account', 'Delete'], text: 'Email us to delete your account.' },
    ]);
  });

  it('takes plain text as one section, and nothing from an empty document', () => {
    expect(sectionsOf('text', '  Open 9 to 5.  ', 'Hours')).toEqual([
      { headings: ['Hours'], text: 'Open 9 to 5.' },
    ]);
    expect(sectionsOf('text', '   ', 'Empty')).toEqual([]);
  });
});

describe('chunkDocument', () => {
  const sentence = (n: number) => `Sentence number ${n} says something useful.`;

  it('ends chunks at sentence boundaries near the size, repeating one sentence across the cut', () => {
    const text = Array.from({ length: 10 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkDocument([{ headings: ['Doc'], text }], { maxChars: 140 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(140);
      expect(chunk.text).toMatch(/^Sentence number \d+ .*useful\.$/);
    }
    for (let i = 1; i < chunks.length; i++) {
      const last = chunks[i - 1]!.text.split(/(?<=\.) /).at(-1)!;
      expect(chunks[i]!.text.startsWith(last)).toBe(true);
    }
    expect(chunks.map((c) => c.ord)).toEqual(chunks.map((_, i) => i));
    // Every sentence is in some chunk.
    for (let i = 0; i < 10; i++)
      expect(chunks.some((c) => c.text.includes(sentence(i)))).toBe(true);
  });

  it('never mixes two sections in one chunk, and cuts a sentence longer than the size', () => {
    const chunks = chunkDocument(
      [
        { headings: ['A'], text: 'Short one.' },
        { headings: ['B'], text: `${'x'.repeat(250)}.` },
      ],
      { maxChars: 100 },
    );
    expect(chunks[0]).toEqual({ ord: 0, headings: ['A'], text: 'Short one.' });
    expect(chunks.slice(1).every((c) => c.headings[0] === 'B' && c.text.length <= 100)).toBe(true);
    expect(
      chunks
        .slice(1)
        .map((c) => c.text)
        .join(''),
    ).toContain('x'.repeat(200));
  });
});
