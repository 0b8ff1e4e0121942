import { describe, expect, it } from 'vitest';
import { confidentPassages, questionCoverage, type KnowledgePassage } from './knowledge.js';

function passage(over: Partial<KnowledgePassage>): KnowledgePassage {
  return {
    documentId: 'doc',
    title: 'Coffee Machine Warranty',
    source: null,
    heading: '',
    text: 'Coffee machines come with a two-year warranty covering the pump and the boiler.',
    similarity: 0.4,
    lexicalRank: 1,
    ...over,
  };
}

describe('confidentPassages', () => {
  it('answers from a similar passage that shares the question’s words', () => {
    const p = passage({});
    expect(confidentPassages('is the pump of my coffee machine under warranty?', [p], 0.3)).toEqual(
      [p],
    );
  });

  it('refuses a passage that is only near by vector, sharing no content word (issue 19)', () => {
    const plus = passage({
      title: 'Parley Home Plus: What’s Included',
      text: 'Plus members get free express delivery and extended returns.',
      similarity: 0.45,
    });
    expect(confidentPassages('I smell gas in the kitchen', [plus], 0.3)).toEqual([]);
    expect(confidentPassages('hello?', [plus], 0.3)).toEqual([]);
  });

  it('still refuses a passage below the similarity floor, even with shared words', () => {
    const weak = passage({ similarity: 0.1, lexicalRank: null });
    expect(confidentPassages('coffee machine warranty', [weak], 0.3)).toEqual([]);
    // Found lexically too: half the floor is enough.
    expect(
      confidentPassages(
        'coffee machine warranty',
        [{ ...weak, lexicalRank: 2, similarity: 0.16 }],
        0.3,
      ),
    ).toHaveLength(1);
  });
});

describe('questionCoverage', () => {
  it('is the share of the question’s content words found, ignoring case, accents and stop words', () => {
    expect(questionCoverage('Coffee WARRANTY?', passage({}))).toBe(1);
    expect(questionCoverage('coffee warranty bicycle tyre', passage({}))).toBe(0.5);
    expect(
      questionCoverage(
        'Garantie für die Kaffeemaschine',
        passage({ text: 'Die Garantie…', title: '' }),
      ),
    ).toBe(0.5); // 'für' and 'die' are stop words
    expect(questionCoverage('the and of', passage({}))).toBe(0);
  });
});
