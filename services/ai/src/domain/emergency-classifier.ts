/**
 * A trained emergency classifier, as bench/emergency/train.py writes it: a
 * logistic regression over tf-idf features, with each feature's idf and weight.
 */
export interface EmergencyModel {
  threshold: number;
  intercept: number;
  /** Character 3-5-grams within words (scikit-learn's `char_wb`): [idf, weight]. */
  chars: Record<string, [number, number]>;
  /** Words of two or more letters or digits, and pairs of them: [idf, weight]. */
  words: Record<string, [number, number]>;
  /** Messages with the probability scikit-learn gave them (the port's parity test). */
  parity?: Array<[string, number]>;
}

/** Emergencies are said early; the features of a longer message are those of its start. */
const MAX_CHARS = 1_000;

/** As the trainer: NFKD, marks removed, lower case, apostrophes straightened. */
export function normaliseForModel(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[’`´]/g, "'");
}

/** scikit-learn's `char_wb` analyzer for n from 3 to 5: n-grams of each word padded with spaces. */
function charGrams(text: string, add: (gram: string) => void): void {
  for (const word of text.split(/\s+/u)) {
    if (!word) continue;
    const padded = ` ${word} `;
    // Where each code point starts (n-grams count code points, as Python does, not UTF-16 units).
    const starts: number[] = [];
    for (let i = 0; i < padded.length; i++) {
      starts.push(i);
      if (padded.codePointAt(i)! > 0xffff) i++;
    }
    starts.push(padded.length);
    const length = starts.length - 1;
    for (let n = 3; n <= 5; n++) {
      if (length <= n) {
        add(padded); // a word this short counts once, whole
        break;
      }
      for (let i = 0; i + n <= length; i++) add(padded.slice(starts[i], starts[i + n]));
    }
  }
}

/** scikit-learn's `word` analyzer with its default token pattern (two or more word characters), 1-2-grams. */
function wordGrams(text: string, add: (gram: string) => void): void {
  const tokens = (text.match(/[\p{L}\p{N}_]+/gu) ?? []).filter((t) => Array.from(t).length >= 2);
  tokens.forEach((token, i) => {
    add(token);
    if (i > 0) add(`${tokens[i - 1]} ${token}`);
  });
}

/** One tf-idf block's contribution: sum of weight × (1 + ln tf) × idf, over the block's l2 norm. */
function block(
  table: Record<string, [number, number]>,
  grams: (text: string, add: (gram: string) => void) => void,
  text: string,
): number {
  const counts = new Map<string, number>();
  grams(text, (gram) => {
    if (Object.hasOwn(table, gram)) counts.set(gram, (counts.get(gram) ?? 0) + 1);
  });
  let dot = 0;
  let norm = 0;
  for (const [gram, count] of counts) {
    const [idf, weight] = table[gram]!;
    const value = (1 + Math.log(count)) * idf;
    dot += value * weight;
    norm += value * value;
  }
  return norm === 0 ? 0 : dot / Math.sqrt(norm);
}

/**
 * Says how likely a message is an emergency, from what it learned on the
 * labelled corpora (bench/emergency): it catches phrasings no rule names
 * ("the baby's lips are going blue"). Used beside the life-safety rules,
 * which stay the floor. Tens of microseconds per message.
 */
export class EmergencyClassifier {
  constructor(private readonly model: EmergencyModel) {}

  /** At or above it, a message is an emergency (chosen by cross-validation in training). */
  get threshold(): number {
    return this.model.threshold;
  }

  probability(text: string): number {
    const plain = normaliseForModel(text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text);
    const z =
      this.model.intercept +
      block(this.model.chars, charGrams, plain) +
      block(this.model.words, wordGrams, plain);
    return 1 / (1 + Math.exp(-z));
  }

  isEmergency(text: string): boolean {
    return this.probability(text) >= this.model.threshold;
  }
}
