/** Turns texts into vectors for similarity search. */
export interface Embedder {
  /** Names the model: vectors of different embedders are never compared. */
  readonly model: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in order. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can do does for from has have how i if in into is it its ' +
    'me my no not of on or our so than that the their them then there these they this to ' +
    'was we what when where which who why will with you your'
  ).split(' '),
);

/**
 * Support vocabulary that means the same thing, mapped to one concept each,
 * so "money back" finds "refund" and "sign in" finds "log in".
 */
const CONCEPTS: ReadonlyArray<[string, readonly string[]]> = [
  [
    'refund',
    ['refund', 'refunds', 'refunded', 'money back', 'reimburse', 'reimbursement', 'chargeback'],
  ],
  ['cancel', ['cancel', 'cancellation', 'terminate', 'unsubscribe', 'end my subscription']],
  ['login', ['login', 'log in', 'sign in', 'signin', 'logon', 'credentials']],
  ['password', ['password', 'passcode', 'passphrase']],
  [
    'price',
    ['price', 'pricing', 'cost', 'costs', 'fee', 'fees', 'charge', 'charges', 'plan', 'plans'],
  ],
  ['invoice', ['invoice', 'invoices', 'bill', 'billing', 'receipt', 'receipts']],
  ['ship', ['ship', 'shipping', 'shipment', 'delivery', 'deliver', 'dispatch', 'courier']],
  ['return', ['return', 'returns', 'send back', 'exchange']],
  ['hours', ['hours', 'opening hours', 'open', 'opening times', 'business hours']],
  ['contact', ['contact', 'phone', 'call', 'email', 'e-mail', 'reach']],
  ['account', ['account', 'profile', 'user settings']],
  ['delete', ['delete', 'remove', 'erase', 'close my account']],
  ['error', ['error', 'bug', 'crash', 'fails', 'failure', 'broken', 'not working']],
  ['security', ['security', 'two-factor', '2fa', 'mfa', 'authentication']],
  ['data', ['data', 'privacy', 'gdpr', 'personal information']],
  ['upgrade', ['upgrade', 'downgrade', 'switch plan', 'change plan']],
];

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A light English stemmer: enough that plurals and tenses share features. */
function stem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ations', 'ation', 'ings', 'ing', 'ies', 'ied', 'ed', 'es', 'ly', 's'])
    if (word.endsWith(suffix) && word.length - suffix.length >= 3)
      return suffix === 'ies' || suffix === 'ied'
        ? `${word.slice(0, -3)}y`
        : word.slice(0, -suffix.length);
  return word;
}

/**
 * The offline embedder: no key, no download, deterministic, so the embedded
 * mode has real retrieval. Feature hashing (the "hashing trick"): each text's
 * words (lightly stemmed, stop words dropped), word pairs, character 3- and
 * 4-grams of each word (misspellings and word forms still overlap) and
 * support-vocabulary concepts (see CONCEPTS) are hashed, with a sign, into
 * `dimensions` buckets, weighted by sublinear term frequency, then scaled to
 * unit length. Lexical with a little semantics: it finds "money back" for
 * "refund", not "the parcel never came" for "delivery failed". We chose it
 * over a local neural model because none ships inside an npm package (each
 * downloads its weights from a model hub, unreachable here and at many
 * customers); production uses OpenAI's embeddings.
 */
export class OfflineEmbedder implements Embedder {
  readonly model: string;

  constructor(readonly dimensions = 384) {
    this.model = `parley-hashing-v1-${dimensions}`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.vector(t));
  }

  /** The weighted features of a text (exposed for tests). */
  features(text: string): Map<string, number> {
    const lowered = text.toLowerCase();
    const words = (lowered.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [])
      .map((w) => w.replace(/'s$/, ''))
      .filter((w) => !STOP_WORDS.has(w))
      .map(stem);
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number) =>
      counts.set(feature, (counts.get(feature) ?? 0) + weight);
    words.forEach((word, i) => {
      add(`w:${word}`, 1);
      if (i > 0) add(`b:${words[i - 1]} ${word}`, 0.5);
      const padded = `<${word}>`;
      for (const n of [3, 4])
        for (let j = 0; j + n <= padded.length; j++) add(`c:${padded.slice(j, j + n)}`, 0.15);
    });
    for (const [concept, phrases] of CONCEPTS)
      for (const phrase of phrases)
        if (new RegExp(`\\b${phrase.replace(/[-]/g, '\\-')}\\b`).test(lowered)) {
          add(`k:${concept}`, 1.5);
          break;
        }
    return counts;
  }

  private vector(text: string): number[] {
    const v = new Array<number>(this.dimensions).fill(0);
    for (const [feature, count] of this.features(text)) {
      // Sublinear in the count; a second hash gives the sign, so collisions cancel out on average.
      const weight = count <= 1 ? count : 1 + Math.log(count);
      const sign = hash(`±${feature}`) & 1 ? -1 : 1;
      v[hash(feature) % this.dimensions]! += sign * weight;
    }
    const norm = Math.hypot(...v);
    return norm === 0 ? v : v.map((x) => x / norm);
  }
}

/** Cosine similarity of two unit vectors (their dot product). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  for (let i = 0; i < a.length && i < b.length; i++) dot += a[i]! * b[i]!;
  return dot;
}
