/**
 * Tenants' knowledge bases: documents parsed and chunked by heading and
 * sentence, embedded (OpenAI in production, {@link OfflineEmbedder} without a
 * key), stored in Postgres and searched by hybrid ranking.
 *
 * ```ts
 * const sections = sectionsOf('markdown', text, 'Refunds');
 * const chunks = chunkDocument(sections);
 * const passages = await new KnowledgeStore(db).search(tenantId, { text, embedding, model });
 * ```
 */
export {
  DOCUMENT_FORMATS,
  chunkDocument,
  sectionsOf,
  type Chunk,
  type ChunkOptions,
  type DocumentFormat,
  type Section,
} from './chunker.js';
export { OfflineEmbedder, cosine, type Embedder } from './embedder.js';
export { CachedEmbedder, KnowledgeIngestor, contentHash, embeddingText } from './ingestor.js';
export {
  KnowledgeStore,
  type EmbeddedChunk,
  type KnowledgeDocument,
  type Passage,
  type Ranking,
} from './store.js';
