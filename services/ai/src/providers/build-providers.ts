import type { Cache } from '@parley/ports';
import { OfflineProvider } from '../domain/offline-provider.js';
import { AnsweringChain } from '../domain/answering-chain.js';
import type { ReplyProvider } from '../domain/provider.js';
import { ResponseCache } from '../domain/response-cache.js';
import { HealthProber } from '../router/health-prober.js';
import { LlmRouter, type RouterEvent, type WeightedProvider } from '../router/llm-router.js';
import { ProviderHealth } from '../router/provider-health.js';
import type { Config } from '../config.js';
import { AnthropicProvider } from './anthropic-provider.js';
import { GoogleProvider } from './google-provider.js';
import { OpenAiProvider } from './openai-provider.js';

/** The AI service's answering chain and its health prober (absent without LLM keys). */
export interface Providers {
  provider: ReplyProvider;
  prober?: HealthProber;
  /** Names of the LLM providers switched on by their keys. */
  enabled: string[];
  /** Their shared health (absent without LLM keys). */
  health?: ProviderHealth;
}

/**
 * Builds the answering chain: the response cache, the router over the
 * providers whose keys are set, and the offline FAQ as the last resort, so an
 * end user always gets an answer. Without keys, the offline provider answers.
 */
export function buildProviders(
  config: Config,
  cache: Cache,
  holder: string,
  onEvent?: (event: RouterEvent) => void,
): Providers {
  const offline = new OfflineProvider();
  const weighted: WeightedProvider[] = [];
  const base = (url: string) => (url ? { baseUrl: url } : {});
  if (config.openaiApiKey)
    weighted.push({
      provider: new OpenAiProvider({
        apiKey: config.openaiApiKey,
        model: config.openaiModel,
        ...base(config.openaiBaseUrl),
      }),
      weight: config.openaiWeight,
    });
  if (config.anthropicApiKey)
    weighted.push({
      provider: new AnthropicProvider({
        apiKey: config.anthropicApiKey,
        model: config.anthropicModel,
        ...base(config.anthropicBaseUrl),
      }),
      weight: config.anthropicWeight,
    });
  if (config.googleApiKey)
    weighted.push({
      provider: new GoogleProvider({
        apiKey: config.googleApiKey,
        model: config.googleModel,
        ...base(config.googleBaseUrl),
      }),
      weight: config.googleWeight,
    });
  const responses = new ResponseCache(cache, { knowledgeVersion: config.knowledgeVersion });
  if (weighted.length === 0)
    return { provider: new AnsweringChain({ cache: responses, offline }), enabled: [] };

  const health = new ProviderHealth(cache, { cooldownMs: config.cooldownMs });
  const router = new LlmRouter({
    providers: weighted,
    health,
    firstTokenTimeoutMs: config.firstTokenTimeoutMs,
    generationTimeoutMs: config.generationTimeoutMs,
    ...(onEvent ? { onEvent } : {}),
  });
  const prober = new HealthProber({
    providers: weighted.map((w) => w.provider),
    health,
    holder,
    intervalMs: config.probeIntervalMs,
  });
  return {
    provider: new AnsweringChain({ router, cache: responses, offline }),
    prober,
    health,
    enabled: weighted.map((w) => w.provider.name),
  };
}
