import { loadConfig } from '@parley/config';
import { aiFields, aiModule } from '@parley/ai';
import { chatFields, chatModule } from '@parley/chat';
import { SessionCache } from '@parley/conversations';
import type { MemoryBroker } from '@parley/embedded';
import { testPlatform, type TestPlatform } from '@parley/test-platform';
import { gatewayFields } from '../src/config.js';
import { gatewayModule } from '../src/module.js';

/** The session secret of every test platform (tests mint tokens with it). */
export const SESSION_SECRET = 'test-secret-test-secret-test-secret-0123';

/** The tenant every test platform has, as the one-process platform's demo tenant. */
export const DEMO_WIDGET_KEY = 'pk_demo';

/** A running gateway, chat and AI on the embedded ports, on a free loopback port. */
export interface Running extends TestPlatform {
  broker: MemoryBroker;
  sessions: SessionCache;
}

/**
 * The gateway with what answers behind it (chat, and the AI without a model
 * key: the bundled emergency model and the offline FAQ, over a knowledge base
 * with nothing in it), set up as the one-process platform sets them up, with
 * `env` over test defaults. The tenant `demo` (widget key {@link DEMO_WIDGET_KEY})
 * allows the platform's origin.
 */
export async function startPlatform(env: Record<string, string> = {}): Promise<Running> {
  const platform = await testPlatform({
    service: 'parley',
    env: {
      PARLEY_SESSION_SECRET: SESSION_SECRET,
      RATE_LIMIT_IP_BURST: '10000',
      RATE_LIMIT_IP_PER_SECOND: '1000',
      ...env,
    },
    modules: [
      [gatewayModule, ({ env }) => ({ settings: loadConfig(gatewayFields, env) })],
      // The in-process bus died with the last process: answer what it left unanswered.
      [
        chatModule,
        ({ env }) => ({ settings: loadConfig(chatFields, env), recoverUnanswered: true }),
      ],
      [
        aiModule,
        ({ env }) => ({
          settings: loadConfig(aiFields, env),
          knowledge: { search: async () => ({ passages: [], version: 0 }) },
        }),
      ],
    ],
    tenants: [
      {
        id: 'demo',
        name: 'Parley demo',
        widgetKey: DEMO_WIDGET_KEY,
        emergencyContact: '+1 555 0100 (demo on-call line)',
      },
    ],
  });
  const { app } = platform;
  return {
    ...platform,
    broker: app.embedded.broker,
    sessions: new SessionCache(app.ports.cache),
  };
}
