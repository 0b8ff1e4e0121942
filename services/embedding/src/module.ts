import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram } from 'prom-client';
import {
  CachedEmbedder,
  KnowledgeIngestor,
  KnowledgeStore,
  OfflineEmbedder,
  type Embedder,
} from '@parley/knowledge';
import type { Cache } from '@parley/ports';
import { superviseWorker, withErrorPrefix } from '@parley/service-kit';
import type { KnowledgeConfig } from './config.js';
import { KNOWLEDGE_ERROR_PREFIX } from './errors.js';
import { EMBEDDING_GROUP, createIngestWorker } from './consumers/ingest.consumer.js';
import { OpenAiEmbedder } from './adapters/openai-embedder.js';
import { knowledgeRoutes, type KnowledgeSearchFn } from './routes/knowledge.route.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The knowledge bases in this process (the one-process AI searches through it). */
    knowledge: Knowledge;
  }
}

/** Options for {@link knowledgeModule}. */
export interface KnowledgeModuleOptions {
  settings: KnowledgeConfig;
  /** The ingestion jobs' consumer group. @default 'embedding' */
  groupId?: string;
}

/** What {@link knowledgeModule} decorates the app with, as `app.knowledge`. */
export interface Knowledge {
  store: KnowledgeStore;
  embedder: Embedder;
  ingestor: KnowledgeIngestor;
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
 * Knowledge bases: the upload and search API, and the ingestion worker on
 * `knowledge-jobs` (chunk, embed, store). Runs on `app.ports`, the same in
 * both modes.
 */
async function knowledge(app: FastifyInstance, options: KnowledgeModuleOptions): Promise<void> {
  const { cache, db } = app.ports;
  const jobs = app.ports.busFor(options.settings.jobsTopic);
  const deps = { settings: options.settings, logger: app.logger, metrics: app.metrics };
  const groupId = options.groupId ?? EMBEDDING_GROUP;
  const store = new KnowledgeStore(db);
  const embedder = buildEmbedder(deps.settings, cache);
  const ingested = {
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
  };
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
  // The routes answer fastify's refusals as EMB_ERR_* in both modes (the embedded root is `GW`).
  await withErrorPrefix(app, KNOWLEDGE_ERROR_PREFIX, async (scope) => {
    await scope.register(knowledgeRoutes, {
      adminToken: deps.settings.adminToken,
      searchToken: deps.settings.searchToken,
      store,
      jobs,
      search,
      maxDocumentBytes: deps.settings.maxDocumentBytes,
    });
  });
  const ingestor = new KnowledgeIngestor({ store, embedder });
  const worker = createIngestWorker({
    jobs,
    store,
    ingestor,
    logger: deps.logger.child({ component: 'ingestion' }),
    groupId,
    onIngested: (outcome, chunks, ms) => {
      ingested.jobs.observe({ outcome }, ms / 1000);
      if (outcome === 'stored') ingested.chunks.inc(chunks);
    },
  });
  superviseWorker(app, worker, { name: `consumer:${groupId}` });
  app.decorate('knowledge', { store, embedder, ingestor, search } satisfies Knowledge);
}

export const knowledgeModule = fp(knowledge, { name: 'parley-knowledge', fastify: '5.x' });
