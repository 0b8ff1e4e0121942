import type { FastifyInstance } from 'fastify';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { voiceModule } from './module.js';

/** The voice service: {@link voiceModule} on Postgres, Redis and Kafka. */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'voice', logger: deps.logger, metrics: deps.metrics });
  await app.register(infrastructure, { service: 'voice', settings: config });
  await app.register(voiceModule, { settings: config });
  return app;
}
