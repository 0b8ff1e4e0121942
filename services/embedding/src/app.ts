import type { FastifyInstance } from 'fastify';
import { infrastructure } from '@parley/infrastructure';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { knowledgeModule } from './module.js';

/**
 * The embedding service: {@link knowledgeModule} on Postgres, Redis and
 * Kafka, with ingestion jobs on their own topic (its consumer lag is this
 * service's HPA metric).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'embedding', logger: deps.logger, metrics: deps.metrics });
  await app.register(infrastructure, {
    service: 'embedding',
    settings: config,
    extraTopics: [config.jobsTopic],
  });
  await app.register(knowledgeModule, { settings: config, groupId: config.consumerGroup });
  return app;
}
