import type { FastifyInstance } from 'fastify';
import { createApp, superviseWorker } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { postgresPlugin } from '@parley/postgres';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { kafkaConsumerMetrics } from '@parley/observability';
import type { Config } from './config.js';
import { registerKnowledge } from './knowledge.js';

/**
 * The embedding service: tenants' knowledge bases. Uploads are stored and
 * ingested by jobs on `knowledge-jobs` (its consumer lag is this service's
 * HPA metric); the AI service searches them. Adapters register first (and
 * close last).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'embedding', logger: deps.logger, metrics: deps.metrics });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'embedding',
    topic: config.kafkaTopic,
    extraTopics: [config.jobsTopic],
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
    consumerMetrics: kafkaConsumerMetrics(deps.metrics),
  });
  const { worker } = await registerKnowledge(app, {
    db: app.db,
    cache: app.cache,
    jobs: app.kafka.busFor(config.jobsTopic),
    settings: config,
    logger: deps.logger,
    groupId: config.consumerGroup,
    metrics: deps.metrics,
  });
  superviseWorker(app, worker, { name: `consumer:${config.consumerGroup}` });
  return app;
}
