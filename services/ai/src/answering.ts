/**
 * How the AI service answers, for hosts other than the service itself (the
 * one-process platform): its settings, the answering chain built from them,
 * and the guardrails. `@parley/ai/answering`.
 */
export { aiFields, type AiConfig } from './config.js';
export { buildProviders, type Providers } from './providers/build-providers.js';
export { Guardrails } from './domain/guardrails.js';
export { confidentPassages, questionCoverage } from './domain/knowledge.js';
export { DEFAULT_SYSTEM_PROMPT } from './providers/llm-options.js';
export type { DegradationLevel, DegradationStatus } from './domain/degradation.js';
export { LlmRouter, type WeightedProvider } from './router/llm-router.js';
export { ProviderHealth } from './router/provider-health.js';
export { OpenAiProvider } from './providers/openai-provider.js';
