import type { FastifyInstance } from 'fastify';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { aiModule } from './module.js';

/** The AI service: {@link aiModule} on Redis and Kafka. */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'ai', logger: deps.logger, metrics: deps.metrics });
  await app.register(infrastructure, { service: 'ai', settings: config });
  await app.register(aiModule, { settings: config, groupId: config.consumerGroup });
  return app;
}
