import {
  env,
  serviceFields,
  redisFields,
  kafkaFields,
  adminFields,
  type ConfigOf,
} from '@parley/config';

const key = (name: string) => env.secret(name, { minLength: 8, optional: true });
const healthUrl = (name: string) => env.url(name, { protocols: ['http:', 'https:'], default: '' });
/** A provider's own time limit; 0 uses the AI_* one. */
const limit = (name: string, max: number) => env.int(name, { min: 0, max, default: 0 });
const weight = (name: string, value: number) => env.int(name, { min: 1, max: 100, default: value });

/**
 * The AI service's own variables. A provider is on when its
 * API key is set (keys are secrets: never logged or echoed); `*_BASE_URL`
 * points its SDK elsewhere (a proxy, or a local server in tests); weights are
 * percentages (defaults 70 / 20 / 10). With no key the offline FAQ answers.
 */
export const aiFields = {
  firstTokenTimeoutMs: env.int('AI_FIRST_TOKEN_TIMEOUT_MS', {
    min: 100,
    max: 60_000,
    default: 4_000,
  }),
  generationTimeoutMs: env.int('AI_GENERATION_TIMEOUT_MS', {
    min: 1_000,
    max: 300_000,
    default: 30_000,
  }),
  intentTimeoutMs: env.int('AI_INTENT_TIMEOUT_MS', { min: 100, max: 60_000, default: 5_000 }),
  cooldownMs: env.int('AI_PROVIDER_COOLDOWN_MS', { min: 1_000, max: 600_000, default: 30_000 }),
  probeIntervalMs: env.int('AI_PROBE_INTERVAL_MS', { min: 1_000, max: 600_000, default: 10_000 }),
  ...adminFields,
  dailyTokenBudget: env.int('AI_TENANT_DAILY_TOKEN_BUDGET', {
    min: 0,
    max: 1_000_000_000,
    default: 0,
  }),
  /** How often the degradation level's dependency checks run. */
  degradationIntervalMs: env.int('AI_DEGRADATION_INTERVAL_MS', {
    min: 500,
    max: 600_000,
    default: 10_000,
  }),
  /** Health URLs (2xx = up) behind degradation L2 (knowledge), L3 (backend) and L5 (humans); unset = not in use. */
  knowledgeHealthUrl: healthUrl('AI_KNOWLEDGE_HEALTH_URL'),
  backendHealthUrl: healthUrl('AI_BACKEND_HEALTH_URL'),
  humansHealthUrl: healthUrl('AI_HUMANS_HEALTH_URL'),
  knowledgeVersion: env.string('AI_KNOWLEDGE_VERSION', { default: '1' }),
  /** The embedding service (knowledge search for RAG); unset: answers without a knowledge base. */
  knowledgeUrl: env.url('AI_KNOWLEDGE_URL', { protocols: ['http:', 'https:'], default: '' }),
  /** The embedding service's search token. */
  knowledgeSearchToken: env.secret('KNOWLEDGE_SEARCH_TOKEN', {
    minLength: 24,
    optional: true,
    generated: true,
  }),
  /** Passages less similar to the question than this are not answered from (cosine). */
  knowledgeMinSimilarity: env.number('AI_KNOWLEDGE_MIN_SIMILARITY', {
    min: 0,
    max: 1,
    default: 0.3,
  }),
  emergencyContact: env.string('AI_EMERGENCY_CONTACT', { default: 'our support team by phone' }),
  openaiApiKey: key('OPENAI_API_KEY'),
  openaiModel: env.string('OPENAI_MODEL', { default: 'gpt-4o-mini' }),
  openaiBaseUrl: env.string('OPENAI_BASE_URL', { default: '' }),
  openaiFirstTokenTimeoutMs: limit('OPENAI_FIRST_TOKEN_TIMEOUT_MS', 60_000),
  openaiGenerationTimeoutMs: limit('OPENAI_GENERATION_TIMEOUT_MS', 300_000),
  openaiWeight: weight('OPENAI_WEIGHT', 70),
  anthropicApiKey: key('ANTHROPIC_API_KEY'),
  anthropicModel: env.string('ANTHROPIC_MODEL', { default: 'claude-3-5-haiku-latest' }),
  anthropicBaseUrl: env.string('ANTHROPIC_BASE_URL', { default: '' }),
  anthropicFirstTokenTimeoutMs: limit('ANTHROPIC_FIRST_TOKEN_TIMEOUT_MS', 60_000),
  anthropicGenerationTimeoutMs: limit('ANTHROPIC_GENERATION_TIMEOUT_MS', 300_000),
  anthropicWeight: weight('ANTHROPIC_WEIGHT', 20),
  googleApiKey: key('GOOGLE_API_KEY'),
  googleModel: env.string('GOOGLE_MODEL', { default: 'gemini-2.0-flash' }),
  googleBaseUrl: env.string('GOOGLE_BASE_URL', { default: '' }),
  googleFirstTokenTimeoutMs: limit('GOOGLE_FIRST_TOKEN_TIMEOUT_MS', 60_000),
  googleGenerationTimeoutMs: limit('GOOGLE_GENERATION_TIMEOUT_MS', 300_000),
  googleWeight: weight('GOOGLE_WEIGHT', 10),
};

/** The AI settings (also read by the one-process platform, which has no Kafka or Redis). */
export type AiConfig = ConfigOf<typeof aiFields>;

/** Every environment variable the ai service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8082 }),
  ...redisFields,
  ...kafkaFields,
  consumerGroup: env.string('AI_CONSUMER_GROUP', { default: 'ai' }),
  ...aiFields,
};

export type Config = ConfigOf<typeof configSpec>;
