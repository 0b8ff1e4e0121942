/**
 * The AI service as a module: mount {@link aiModule} on an app whose
 * `app.ports` an infrastructure plugin provided, with {@link aiFields}.
 * The emergency detector, the knowledge checks and the router are exported
 * for the benchmarks in `bench/`. `@parley/ai`.
 */
export { aiModule, type AiModuleOptions } from './module.js';
export { aiFields, type AiConfig } from './config.js';
export { AiErrors, type AiErrorCode } from './errors.js';
export type { DegradationLevel, DegradationStatus } from './domain/degradation.js';
export { bundledEmergencyClassifier, emergencyDetector } from './adapters/emergency-model.js';
export {
  DEFAULT_EMERGENCY_RULES,
  EmergencyDetector,
  type EmergencyRules,
  type EmergencyScore,
} from './domain/emergency.js';
export { confidentPassages, questionCoverage } from './domain/knowledge.js';
export { LlmRouter, type WeightedProvider } from './router/llm-router.js';
export { ProviderHealth } from './router/provider-health.js';
export { OpenAiProvider } from './providers/openai-provider.js';
