import type { FastifyInstance } from 'fastify';
import { trustedHops } from '@parley/config';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { hitlModule } from './module.js';

/** The hitl service: {@link hitlModule} on Postgres, Redis and Kafka. */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({
    service: 'hitl',
    logger: deps.logger,
    metrics: deps.metrics,
    trustedProxyHops: trustedHops(config),
  });
  await app.register(infrastructure, { service: 'hitl', settings: config });
  await app.register(hitlModule, { settings: config, groupId: config.consumerGroup });
  return app;
}
