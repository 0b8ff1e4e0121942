import type { FastifyInstance } from 'fastify';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { gatewayModule } from './module.js';

/** The gateway service: {@link gatewayModule} on Postgres, Redis and Kafka. */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'gateway', logger: deps.logger, metrics: deps.metrics });
  await app.register(infrastructure, { service: 'gateway', settings: config });
  await app.register(gatewayModule, { settings: config, region: config.region });
  return app;
}
