import { createHash } from 'node:crypto';
import type { Cache } from '@parley/ports';
import { chunkDocument, sectionsOf, type Chunk, type ChunkOptions } from './chunker.js';
import type { Embedder } from './embedder.js';
import type { KnowledgeStore } from './store.js';

/** The hex SHA-256 of a text: documents and chunks are deduplicated and cached by it. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What a chunk's embedding is computed from: its headings give it context. */
export function embeddingText(chunk: Pick<Chunk, 'headings' | 'text'>): string {
  return `${chunk.headings.join(' › ')}\n${chunk.text}`;
}

/**
 * An embedder with a cache in front (Redis in the services) keyed by model
 * and content hash: re-ingesting a document embeds only what changed. A
 * cache that fails is skipped, never fatal.
 */
export class CachedEmbedder implements Embedder {
  constructor(
    private readonly inner: Embedder,
    private readonly cache: Cache,
    private readonly ttlMs = 30 * 86_400_000,
  ) {}

  get model(): string {
    return this.inner.model;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const keys = texts.map((t) => `parley:emb:${this.inner.model}:${contentHash(t)}`);
    const cached = await Promise.all(keys.map((k) => this.cache.get(k).catch(() => null)));
    const missing = texts.flatMap((_, i) => (cached[i] === null ? [i] : []));
    const fresh = missing.length
      ? await this.inner.embed(
          missing.map((i) => texts[i]!),
          signal,
        )
      : [];
    const out = cached.map((hit) => (hit === null ? null : (JSON.parse(hit) as number[])));
    await Promise.all(
      missing.map((i, n) => {
        out[i] = fresh[n]!;
        return this.cache
          .set(keys[i]!, JSON.stringify(fresh[n]), this.ttlMs)
          .catch(() => undefined);
      }),
    );
    return out as number[][];
  }
}

/**
 * Turns a stored document into searchable chunks: parse by format, chunk by
 * heading and sentence, embed, store (moving the tenant's knowledge version
 * on). Idempotent, and safe to run again after a crash: the text waits in
 * Postgres, and a job for content since replaced does nothing.
 */
export class KnowledgeIngestor {
  constructor(
    private readonly deps: { store: KnowledgeStore; embedder: Embedder; chunking?: ChunkOptions },
  ) {}

  async ingest(
    tenantId: string,
    documentId: string,
    hash: string,
    signal?: AbortSignal,
  ): Promise<{ outcome: 'stored' | 'stale' | 'missing'; chunks: number }> {
    const found = await this.deps.store.content(tenantId, documentId);
    if (!found) return { outcome: 'missing', chunks: 0 };
    if (found.document.contentHash !== hash) return { outcome: 'stale', chunks: 0 };
    const { document, content } = found;
    const format = document.format === 'pdf' ? 'text' : document.format;
    const chunks = chunkDocument(sectionsOf(format, content, document.title), this.deps.chunking);
    const vectors = chunks.length
      ? await this.deps.embedder.embed(chunks.map(embeddingText), signal)
      : [];
    const stored = await this.deps.store.storeChunks(
      tenantId,
      documentId,
      hash,
      this.deps.embedder.model,
      chunks.map((chunk, i) => ({
        ...chunk,
        contentHash: contentHash(chunk.text),
        embedding: vectors[i]!,
      })),
    );
    return stored ? { outcome: 'stored', chunks: chunks.length } : { outcome: 'stale', chunks: 0 };
  }
}
