import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  CachedEmbedder,
  KnowledgeIngestor,
  KnowledgeStore,
  OfflineEmbedder,
  type Embedder,
} from '@parley/knowledge';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, SqlDatabase, Subscription } from '@parley/ports';
import type { KnowledgeConfig } from './config.js';
import { createIngestWorker } from './consumers/ingest.consumer.js';
import { OpenAiEmbedder } from './domain/openai-embedder.js';
import { knowledgeRoutes, type KnowledgeSearchFn } from './routes/knowledge.route.js';

/** What the knowledge part of Parley runs on (the same in the service and embedded). */
export interface KnowledgeDeps {
  db: SqlDatabase;
  cache: Cache;
  /** The bus of `knowledge-jobs`. */
  jobs: EventBus;
  settings: KnowledgeConfig;
  logger: Logger;
  groupId?: string;
  metrics?: Registry;
}

/** The registered parts, for hosts and tests. */
export interface Knowledge {
  store: KnowledgeStore;
  embedder: Embedder;
  ingestor: KnowledgeIngestor;
  worker: Subscription;
  /** Search in this process (the API's search, and the embedded platform's AI instead of HTTP). */
  search: KnowledgeSearchFn;
}

/** The embedder the settings ask for, with the embedding cache in front. */
export function buildEmbedder(settings: KnowledgeConfig, cache: Cache): Embedder {
  const useOpenAi =
    settings.embedder === 'openai' ||
    (settings.embedder === 'auto' && settings.openaiApiKey !== '');
  if (useOpenAi && !settings.openaiApiKey)
    throw new Error('KNOWLEDGE_EMBEDDER=openai needs OPENAI_API_KEY');
  const inner = useOpenAi
    ? new OpenAiEmbedder({
        apiKey: settings.openaiApiKey,
        model: settings.embeddingModel,
        dimensions: settings.embeddingDimensions,
        timeoutMs: settings.embeddingTimeoutMs,
        ...(settings.openaiBaseUrl ? { baseURL: settings.openaiBaseUrl } : {}),
      })
    : new OfflineEmbedder();
  return new CachedEmbedder(inner, cache);
}

/**
 * Mounts the knowledge API on `app` and creates the ingestion worker (the
 * host starts and stops it). `@parley/embedding/knowledge`.
 */
export async function registerKnowledge(
  app: FastifyInstance,
  deps: KnowledgeDeps,
): Promise<Knowledge> {
  const store = new KnowledgeStore(deps.db);
  const embedder = buildEmbedder(deps.settings, deps.cache);
  const ingested = deps.metrics
    ? {
        chunks: new Counter({
          name: 'knowledge_chunks_ingested_total',
          help: 'Chunks stored by ingestion jobs',
          registers: [deps.metrics],
        }),
        jobs: new Histogram({
          name: 'knowledge_ingest_duration_seconds',
          help: 'Time to ingest one document, by outcome',
          labelNames: ['outcome'],
          buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60],
          registers: [deps.metrics],
        }),
      }
    : undefined;
  /** The question embedded with the chunks' model (not for lexical-only ranking), then searched. */
  const search: KnowledgeSearchFn = async (tenantId, query, options = {}) => {
    const ranking = options.ranking ?? 'hybrid';
    const [embedding] = ranking === 'lexical' ? [undefined] : await embedder.embed([query]);
    const passages = await store.search(
      tenantId,
      { text: query, ...(embedding ? { embedding, model: embedder.model } : {}) },
      { ranking, limit: options.limit ?? 5 },
    );
    return { passages, version: await store.version(tenantId) };
  };
  await app.register(knowledgeRoutes, {
    adminToken: deps.settings.adminToken,
    searchToken: deps.settings.searchToken,
    store,
    jobs: deps.jobs,
    search,
    maxDocumentBytes: deps.settings.maxDocumentBytes,
  });
  const ingestor = new KnowledgeIngestor({ store, embedder });
  const worker = createIngestWorker({
    jobs: deps.jobs,
    store,
    ingestor,
    logger: deps.logger.child({ component: 'ingestion' }),
    ...(deps.groupId ? { groupId: deps.groupId } : {}),
    ...(ingested
      ? {
          onIngested: (outcome, chunks, ms) => {
            ingested.jobs.observe({ outcome }, ms / 1000);
            if (outcome === 'stored') ingested.chunks.inc(chunks);
          },
        }
      : {}),
  });
  return { store, embedder, ingestor, worker, search };
}

export { knowledgeFields, type KnowledgeConfig } from './config.js';
