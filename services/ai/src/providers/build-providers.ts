import type { KnowledgeSearch } from '../domain/knowledge.js';
import type { Cache } from '@parley/ports';
import { readinessServes } from '@parley/contracts';
import { OfflineProvider } from '../domain/offline-provider.js';
import { AnsweringChain } from '../domain/answering-chain.js';
import {
  DegradationManager,
  type DegradationChecks,
  type DegradationLevel,
  type DegradationStatus,
  type HealthCheck,
} from '../domain/degradation.js';
import type { StreamingProvider } from '../domain/provider.js';
import { IntentClassifier } from '../domain/intent.js';
import { ToolRegistry } from '../domain/tools.js';
import { ResponseCache } from '../domain/response-cache.js';
import { HealthProber } from '../router/health-prober.js';
import { LlmRouter, type RouterEvent, type WeightedProvider } from '../router/llm-router.js';
import { ProviderHealth } from '../router/provider-health.js';
import type { AiConfig } from '../config.js';
import { AnthropicProvider } from './anthropic-provider.js';
import { GoogleProvider } from './google-provider.js';
import { OpenAiProvider } from './openai-provider.js';

/** The AI service's answering chain and its health prober (absent without LLM keys). */
export interface Providers {
  provider: StreamingProvider;
  /** The degradation level, from the models' outcomes and the dependency checks. */
  degradation: DegradationManager;
  /** The router (absent without LLM keys), for its breakers. */
  router?: LlmRouter;
  prober?: HealthProber;
  /** Names of the LLM providers switched on by their keys. */
  enabled: string[];
  /** Their shared health (absent without LLM keys). */
  health?: ProviderHealth;
}

/** What the host observes, and (tests) the router's random choice. */
export interface BuildHooks {
  onEvent?: (event: RouterEvent) => void;
  onLevelChange?: (next: DegradationLevel, previous: DegradationLevel, reasons: string[]) => void;
  /** After every degradation assessment (every `degradationIntervalMs`). */
  onAssess?: (status: DegradationStatus) => void;
  /** The router's weighted choice. @default Math.random */
  random?: () => number;
  /**
   * The tenant knowledge bases (RAG). Its breaker, when it has one, counts
   * as knowledge down while open (degradation L2).
   */
  knowledge?: KnowledgeSearch & { breaker?: { readonly state: string; probeNow?(): void } };
}

/**
 * Builds the answering chain: the response cache, the router over the
 * providers whose keys are set, and the offline FAQ as the last resort, so an
 * end user always gets an answer. Without keys, the offline provider answers.
 */
export function buildProviders(
  config: AiConfig & { region?: string },
  cache: Cache,
  holder: string,
  hooks: BuildHooks = {},
): Providers {
  const { onEvent, onLevelChange } = hooks;
  const weighted = weightedProviders(config);
  const offline = new OfflineProvider();
  const responses = new ResponseCache(cache, { knowledgeVersion: config.knowledgeVersion });
  const enabled = weighted.map((w) => w.provider.name);
  const health = weighted.length
    ? new ProviderHealth(cache, {
        cooldownMs: config.cooldownMs,
        // Each region keeps its own view of the vendors (its own network path to them).
        prefix: `parley:ai:health:${config.region ?? 'local'}`,
      })
    : undefined;
  const router = health
    ? new LlmRouter({
        providers: weighted,
        health,
        firstTokenTimeoutMs: config.firstTokenTimeoutMs,
        generationTimeoutMs: config.generationTimeoutMs,
        intentTimeoutMs: config.intentTimeoutMs,
        ...(hooks.random ? { random: hooks.random } : {}),
        onEvent: (event) => {
          degradation.record(event.kind === 'answered', event.ms);
          onEvent?.(event);
        },
      })
    : undefined;

  const checks: DegradationChecks = {};
  const knowledgeUp = config.knowledgeHealthUrl ? httpCheck(config.knowledgeHealthUrl) : undefined;
  const breaker = hooks.knowledge?.breaker;
  if (knowledgeUp || breaker)
    checks.knowledge = async () => {
      const up = knowledgeUp ? await knowledgeUp() : true;
      // The service answers again: let real searches test the circuit now
      // rather than after its whole open period (recovery within 30 s).
      if (up && knowledgeUp) breaker?.probeNow?.();
      return up && breaker?.state !== 'open';
    };
  if (config.backendHealthUrl) checks.backend = httpCheck(config.backendHealthUrl);
  if (config.humansHealthUrl) checks.humans = httpCheck(config.humansHealthUrl);
  const degradation = new DegradationManager({
    checks,
    intervalMs: config.degradationIntervalMs,
    ...(onLevelChange ? { onChange: onLevelChange } : {}),
    ...(hooks.onAssess ? { onAssess: hooks.onAssess } : {}),
    // Models are down when every provider is cooling down (shared) or its circuit is open (here).
    modelsDown: async () => {
      if (!router || !health) return false;
      const now = Date.now();
      const records = await Promise.all(enabled.map((name) => health.get(name)));
      return records.every(
        (r, i) => r.unhealthyUntil > now || router.breakers.get(enabled[i]!)!.state === 'open',
      );
    },
  });
  const level = () => degradation.level;
  const provider = new AnsweringChain({
    ...(router ? { router } : {}),
    cache: responses,
    offline,
    level,
    tools: new ToolRegistry(),
    intents: new IntentClassifier({
      ...(router ? { router } : {}),
      timeoutMs: config.intentTimeoutMs,
    }),
    ...(hooks.knowledge
      ? { knowledge: { search: hooks.knowledge, minSimilarity: config.knowledgeMinSimilarity } }
      : {}),
  });
  if (!router || !health) return { provider, degradation, enabled };
  const prober = new HealthProber({
    providers: weighted.map((w) => w.provider),
    health,
    holder,
    intervalMs: config.probeIntervalMs,
  });
  return { provider, degradation, router, prober, health, enabled };
}

/** The LLM providers whose keys are set, with their weights. */
function weightedProviders(config: AiConfig): WeightedProvider[] {
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
      ...limits(config.openaiFirstTokenTimeoutMs, config.openaiGenerationTimeoutMs),
    });
  if (config.anthropicApiKey)
    weighted.push({
      provider: new AnthropicProvider({
        apiKey: config.anthropicApiKey,
        model: config.anthropicModel,
        ...base(config.anthropicBaseUrl),
      }),
      weight: config.anthropicWeight,
      ...limits(config.anthropicFirstTokenTimeoutMs, config.anthropicGenerationTimeoutMs),
    });
  if (config.googleApiKey)
    weighted.push({
      provider: new GoogleProvider({
        apiKey: config.googleApiKey,
        model: config.googleModel,
        ...base(config.googleBaseUrl),
      }),
      weight: config.googleWeight,
      ...limits(config.googleFirstTokenTimeoutMs, config.googleGenerationTimeoutMs),
    });
  return weighted;
}

/** A provider's own time limits, where set (0: the router's). */
function limits(firstTokenTimeoutMs: number, generationTimeoutMs: number) {
  return {
    ...(firstTokenTimeoutMs ? { firstTokenTimeoutMs } : {}),
    ...(generationTimeoutMs ? { generationTimeoutMs } : {}),
  };
}

/** A dependency is up when its health URL answers 2xx within the check's time, reporting no essential dependency down. */
function httpCheck(url: string): HealthCheck {
  return async () => readinessServes(await fetch(url, { signal: AbortSignal.timeout(2_000) }));
}
