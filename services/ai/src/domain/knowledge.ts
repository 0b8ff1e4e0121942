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

/**
 * The passages good enough to answer from: similar enough to the question
 * (`minSimilarity`), or found both lexically and by vector with some
 * similarity. The rest would invite an invented answer.
 */
export function confidentPassages(
  passages: readonly KnowledgePassage[],
  minSimilarity: number,
): KnowledgePassage[] {
  return passages.filter(
    (p) =>
      (p.similarity ?? 0) >= minSimilarity ||
      (p.lexicalRank !== null && (p.similarity ?? 0) >= minSimilarity / 2),
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
