import { describe, expect, it } from 'vitest';
import { hasWords, sentences, speakable } from './speech.js';

describe('speech text', () => {
  it('tells words from fillers, coughs and backchannels', () => {
    for (const filler of [
      '',
      ' ',
      'Mhm.',
      'mm-hmm',
      'Uh-huh!',
      'Hmm...',
      'um',
      '[cough]',
      '(clears throat)',
      'Oh.',
    ])
      expect(hasWords(filler), filler).toBe(false);
    for (const words of ['No.', 'Yes please', 'Hmm, actually wait', 'I need to reset my password.'])
      expect(hasWords(words), words).toBe(true);
  });

  it('splits an answer into sentences to speak one at a time', () => {
    expect(sentences('Sure! Your order ships in 2.5 days. Anything else?')).toEqual([
      'Sure!',
      'Your order ships in 2.5 days.',
      'Anything else?',
    ]);
    expect(sentences('no punctuation at all')).toEqual(['no punctuation at all']);
    expect(sentences('  ...  ')).toEqual([]);
  });

  it('reads text aloud without markup, links or citation marks', () => {
    expect(
      speakable('**Reset** it in [Settings](https://x.test/s) [1]. See https://help.test/a'),
    ).toBe('Reset it in Settings . See the link in our help center');
  });
});
