import type { FastifyInstance } from 'fastify';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { chatModule } from './module.js';

/** The chat service: {@link chatModule} on Postgres, Redis and Kafka. */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'chat', logger: deps.logger, metrics: deps.metrics });
  await app.register(infrastructure, { service: 'chat', settings: config });
  await app.register(chatModule, {
    settings: config,
    groupId: config.consumerGroup,
    region: config.region,
  });
  return app;
}
