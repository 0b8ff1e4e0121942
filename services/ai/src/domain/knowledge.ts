/** A passage of the tenant's knowledge base, as retrieval returns it. */
export interface KnowledgePassage {
  documentId: string;
  title: string;
  /** The citation: a URL or file name (null when the upload named none). */
  source: string | null;
  heading: string;
  text: string;
  /** Cosine similarity to the question (null when only the lexical ranking found it). */
  similarity: number | null;
  /** Place in the lexical ranking, from 1 (null: not found lexically). */
  lexicalRank: number | null;
}

/** Where an answer came from, shown under it in the widget. */
export interface AnswerSource {
  title: string;
  url: string | null;
}

/** Searches a tenant's knowledge base (the embedding service, or in-process when embedded). */
export interface KnowledgeSearch {
  search(
    tenantId: string,
    query: string,
    signal?: AbortSignal,
  ): Promise<{ passages: KnowledgePassage[]; version: number }>;
}

// Words that say nothing about what a question is about (en, de, fr, es), after normalising.
const STOPWORDS = new Set(
  (
    'the a an and or but if of to in on at by for from with about as is are was were be been being ' +
    'do does did done have has had i me my we our you your he she it its they them their this that these those ' +
    'what which who whom whose when where why how can could would should will shall may might must not no yes ' +
    'there here some any all more most so than too very just also get got please pls thanks thank hi hello hey ' +
    'want need know like im ive dont cant wont isnt ' +
    'der die das ein eine einen und oder aber ich du sie wir ihr mein meine mit von zu im in auf fur ist sind war ' +
    'wie was wo wann warum kann konnen bitte nicht kein hallo danke ' +
    'le la les un une des et ou mais je tu il elle nous vous ils mon ma mes de du au aux en dans sur pour avec est ' +
    'sont comment quoi quand pourquoi peux pouvez svp merci bonjour pas ne ' +
    'el los las unos unas y o pero yo tu mi mis nosotros con del al en por para es son como que cuando donde ' +
    'puedo puede gracias hola no'
  ).split(' '),
);

/** A text's content words: lower case, no accents, cut to 5 letters (a crude stem). */
function contentStems(text: string): Set<string> {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u);
  return new Set(words.filter((w) => w.length >= 3 && !STOPWORDS.has(w)).map((w) => w.slice(0, 5)));
}

/** The share of the question's content words that the passage (title, heading, text) holds. */
export function questionCoverage(
  question: string,
  passage: Pick<KnowledgePassage, 'title' | 'heading' | 'text'>,
): number {
  const asked = contentStems(question);
  if (asked.size === 0) return 0;
  const held = contentStems(`${passage.title} ${passage.heading} ${passage.text}`);
  let found = 0;
  for (const stem of asked) if (held.has(stem)) found++;
  return found / asked.size;
}

/**
 * The passages good enough to answer `question` from: similar enough to it
 * (`minSimilarity`), or found both lexically and by vector with some
 * similarity; and sharing at least one of its content words, since a vector
 * match alone ("I smell gas" near "Parley Home Plus") is no evidence. The
 * rest would invite an invented answer. bench/knowledge-retrieval.mjs
 * measures the rule: the in-scope recall@5 stays 0.92.
 */
export function confidentPassages(
  question: string,
  passages: readonly KnowledgePassage[],
  minSimilarity: number,
): KnowledgePassage[] {
  return passages.filter(
    (p) =>
      ((p.similarity ?? 0) >= minSimilarity ||
        (p.lexicalRank !== null && (p.similarity ?? 0) >= minSimilarity / 2)) &&
      questionCoverage(question, p) > 0,
  );
}

/** The system prompt with the passages to answer from, numbered for citation. */
export function knowledgePrompt(base: string, passages: readonly KnowledgePassage[] = []): string {
  if (passages.length === 0) return base;
  const numbered = passages
    .map((p, i) => `[${i + 1}] ${p.title}${p.heading ? ` (${p.heading})` : ''}\n${p.text}`)
    .join('\n\n');
  return (
    `${base}\n\nAnswer from the sources below when they cover the question, and cite each one ` +
    `you use as [1], [2], ... If they do not contain the answer, say that you do not know ` +
    `rather than guess.\n\nSources:\n${numbered}`
  );
}

/** The passages an answer cites as [n], as sources (each document once, in order). */
export function citedSources(text: string, passages: readonly KnowledgePassage[]): AnswerSource[] {
  const cited = new Set([...text.matchAll(/\[(\d{1,2})\]/g)].map((m) => Number(m[1]) - 1));
  return uniqueSources(passages.filter((_, i) => cited.has(i)));
}

export function uniqueSources(passages: readonly KnowledgePassage[]): AnswerSource[] {
  const seen = new Set<string>();
  const out: AnswerSource[] = [];
  for (const p of passages) {
    if (seen.has(p.documentId)) continue;
    seen.add(p.documentId);
    out.push({ title: p.title, url: p.source && /^https?:\/\//.test(p.source) ? p.source : null });
  }
  return out;
}
