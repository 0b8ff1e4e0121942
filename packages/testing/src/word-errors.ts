/**
 * Word errors of a transcript against what was said: the word-level edit
 * distance (substitutions, deletions, insertions) after both are lower-cased
 * and stripped of punctuation. The word error rate of a set of utterances is
 * the sum of their `errors` over the sum of their `words`.
 *
 * ```ts
 * wordErrors('How long is the warranty?', 'how long is the war in the?'); // { errors: 3, words: 5 }
 * ```
 */
export function wordErrors(reference: string, heard: string): { errors: number; words: number } {
  const ref = words(reference);
  const hyp = words(heard);
  let previous = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++)
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return { errors: previous[hyp.length]!, words: ref.length };
}

/** Lower-case words, apostrophes dropped ("can't" is "cant"), other punctuation a space. */
export const words = (text: string): string[] =>
  text
    .toLowerCase()
    .replace(/[’']/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
