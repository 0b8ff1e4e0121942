import { env, serviceFields, type ConfigOf } from '@parley/config';
import { aiFields } from '@parley/ai';
import { chatFields } from '@parley/chat';
import { knowledgeFields } from '@parley/embedding';
import { gatewayFields } from '@parley/gateway';
import { hitlFields } from '@parley/hitl';
import { voiceFields } from '@parley/voice';

/** Every environment variable the one-process platform reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8080 }),
  /** `localhost` listens on both loopback addresses and nowhere else. */
  host: env.string('HOST', { default: 'localhost' }),
  ...gatewayFields,
  dataDir: env.string('PARLEY_DATA_DIR', { default: '.parley/data' }),
  ...chatFields,
  /** Handoffs: agents' token secret (main.ts makes and keeps one when unset) and timers. */
  ...hitlFields,
  /** The seeded demo agent's password (embedded mode only; docs/agents.md publishes the default). */
  demoAgentPassword: env.secret('PARLEY_DEMO_AGENT_PASSWORD', { minLength: 8, optional: true }),
  /** Knowledge bases: the embedder (offline without an OpenAI key), upload limits. */
  ...knowledgeFields,
  /** Load the bundled demo knowledge base (packages/standalone/knowledge) for the demo tenant. */
  demoKnowledge: env.bool('PARLEY_DEMO_KNOWLEDGE', { default: true }),
  /** The AI settings: model keys (none: the offline FAQ answers), failover, budgets, degradation. */
  ...aiFields,
  /** Phone calls (off without TWILIO_AUTH_TOKEN): Twilio, speech providers, the offline pair. */
  ...voiceFields,
};

export type Config = ConfigOf<typeof configSpec>;
