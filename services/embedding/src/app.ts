import type { FastifyInstance } from 'fastify';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { postgresPlugin } from '@parley/postgres';
import { kafkaPlugin } from '@parley/kafka';
import type { Config } from './config.js';

/**
 * The embedding service. Ingests tenant knowledge and serves hybrid retrieval.
 * Registers its infrastructure adapters (each adds its readiness check and
 * closes on shutdown, in reverse order).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'embedding', logger: deps.logger, metrics: deps.metrics });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'embedding',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
  });
  return app;
}
