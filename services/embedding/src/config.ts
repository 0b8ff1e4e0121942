import {
  adminFields,
  env,
  kafkaFields,
  postgresFields,
  redisFields,
  serviceFields,
  type ConfigOf,
} from '@parley/config';
import { KNOWLEDGE_JOBS_TOPIC } from '@parley/contracts';

/** The knowledge-base settings (also read by the one-process platform). */
export const knowledgeFields = {
  /** `openai` (needs OPENAI_API_KEY), `offline` (no key, no download), or `auto`: openai when a key is set. */
  embedder: env.oneOf('KNOWLEDGE_EMBEDDER', ['auto', 'openai', 'offline'], { default: 'auto' }),
  openaiApiKey: env.secret('OPENAI_API_KEY', { minLength: 8, optional: true }),
  openaiBaseUrl: env.url('OPENAI_BASE_URL', { protocols: ['http:', 'https:'], default: '' }),
  embeddingModel: env.string('OPENAI_EMBEDDING_MODEL', { default: 'text-embedding-3-small' }),
  embeddingDimensions: env.int('OPENAI_EMBEDDING_DIMENSIONS', {
    min: 64,
    max: 3_072,
    default: 1_536,
  }),
  /** Per embedding call (the design's knowledge retrieval policy: 3 s, 2 retries 200 ms apart). */
  embeddingTimeoutMs: env.int('KNOWLEDGE_EMBEDDING_TIMEOUT_MS', {
    min: 100,
    max: 60_000,
    default: 3_000,
  }),
  /** The AI service's bearer token for search; unset turns search off. */
  searchToken: env.secret('KNOWLEDGE_SEARCH_TOKEN', {
    minLength: 24,
    optional: true,
    generated: true,
  }),
  /** Largest document accepted (bytes of text). */
  maxDocumentBytes: env.int('KNOWLEDGE_MAX_DOCUMENT_BYTES', {
    min: 1_024,
    max: 20_000_000,
    default: 5_000_000,
  }),
  /** The topic ingestion jobs travel on. */
  jobsTopic: env.string('PARLEY_KNOWLEDGE_TOPIC', { default: KNOWLEDGE_JOBS_TOPIC }),
  ...adminFields,
};

export type KnowledgeConfig = ConfigOf<typeof knowledgeFields>;

/** Every environment variable the embedding service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8084 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  consumerGroup: env.string('EMBEDDING_CONSUMER_GROUP', { default: 'embedding' }),
  ...knowledgeFields,
};

export type Config = ConfigOf<typeof configSpec>;
