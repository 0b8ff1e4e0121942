import type { FastifyInstance } from 'fastify';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { postgresPlugin } from '@parley/postgres';
import type { Config } from './config.js';
import { registerVoice } from './voice.js';

/**
 * The voice service: phone calls (see `voice.ts`) on Kafka, Redis and Postgres.
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'voice', logger: deps.logger, metrics: deps.metrics });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'voice',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
  });
  await registerVoice(app, {
    bus: app.kafka.bus,
    cache: app.cache,
    db: app.db,
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  return app;
}
