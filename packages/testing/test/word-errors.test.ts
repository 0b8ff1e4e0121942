import { describe, expect, it } from 'vitest';
import { wordErrors, words } from '../src/word-errors.js';

describe('word errors', () => {
  it('are zero for the same words, whatever the case and punctuation', () => {
    expect(wordErrors("Can't I speak to an agent?", 'cant i speak to an agent')).toEqual({
      errors: 0,
      words: 6,
    });
  });

  it('count substitutions, deletions and insertions', () => {
    // What Whisper base at int8 heard on an AVX2-only CPU: three substitutions.
    expect(
      wordErrors('How long is the warranty on the blender?', 'How long is the war in the London?'),
    ).toEqual({ errors: 3, words: 8 });
    expect(wordErrors('one two three', 'one three')).toEqual({ errors: 1, words: 3 });
    expect(wordErrors('one two', 'one two two two')).toEqual({ errors: 2, words: 2 });
  });

  it('count every word of the reference as missed when nothing was heard', () => {
    expect(wordErrors('Do you ship to Switzerland?', '')).toEqual({ errors: 5, words: 5 });
    expect(words('  ¿¡ — !? ')).toEqual([]);
  });
});
