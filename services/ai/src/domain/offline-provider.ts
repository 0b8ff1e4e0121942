import { DEFAULT_FAQ, FALLBACK_ANSWER, type FaqEntry } from './faq.js';
import type { Reply, ReplyProvider, ReplyRequest } from './provider.js';
import { uniqueSources } from './knowledge.js';

const STOPWORDS = new Set(
  'a an the is are am do does did i my me you your we our to of in on for and or it can could would please there what when where how with at be'.split(
    ' ',
  ),
);

/** Lower-case word stems without stop words ("Refunds?" -> "refund"). */
export function tokens(text: string): Set<string> {
  const words =
    text
      .toLowerCase()
      .normalize('NFKD')
      .match(/[a-z0-9]+/g) ?? [];
  const out = new Set<string>();
  for (const word of words) {
    if (STOPWORDS.has(word)) continue;
    out.add(word.length > 4 ? word.replace(/(ing|ed|es|s)$/, '') : word);
  }
  return out;
}

/** Dice coefficient of two token sets (0: nothing shared, 1: the same). */
function similarity(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return (2 * shared) / (a.size + b.size);
}

/**
 * Answers from a small FAQ by word overlap with the ways each question is
 * asked; below `threshold` it answers with a polite fallback. Needs no key
 * and no network, so the platform answers out of the box.
 */
export class OfflineProvider implements ReplyProvider {
  readonly name = 'offline';
  private readonly entries: Array<{ asked: Set<string>[]; answer: string }>;

  constructor(
    faq: readonly FaqEntry[] = DEFAULT_FAQ,
    private readonly threshold = 0.5,
  ) {
    this.entries = faq.map((e) => ({ asked: e.questions.map(tokens), answer: e.answer }));
  }

  /**
   * The best knowledge-base passage when retrieval found a confident one
   * (its first sentences, with the document as the source), else the FAQ,
   * else the fallback: no invented answers.
   */
  async reply(request: ReplyRequest): Promise<Reply> {
    const [best] = request.passages ?? [];
    if (best)
      return {
        text: `From “${best.title}”: ${excerpt(best.text)}`,
        sources: uniqueSources([best]),
      };
    return { text: this.template(request.text) ?? FALLBACK_ANSWER };
  }

  /** The FAQ answer that matches `text` well enough, or null (backup level 2: a template answer). */
  template(text: string): string | null {
    const query = tokens(text);
    let best = { score: 0, answer: '' };
    for (const entry of this.entries) {
      for (const asked of entry.asked) {
        const score = similarity(query, asked);
        if (score > best.score) best = { score, answer: entry.answer };
      }
    }
    return best.score >= this.threshold ? best.answer : null;
  }
}

/** The first sentences of a passage, at most about 400 characters. */
function excerpt(text: string): string {
  const sentences = text.match(/[^.!?]+[.!?]+(\s|$)|[^.!?]+$/g) ?? [text];
  let out = '';
  for (const sentence of sentences) {
    if (out && out.length + sentence.length > 400) break;
    out += sentence;
  }
  return (out || text.slice(0, 400)).trim();
}
