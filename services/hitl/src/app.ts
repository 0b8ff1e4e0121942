import type { FastifyInstance } from 'fastify';
import { trustedHops } from '@parley/config';
import { createApp, superviseWorker } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { postgresPlugin } from '@parley/postgres';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { kafkaConsumerMetrics } from '@parley/observability';
import { ConversationStore } from '@parley/conversations';
import type { Config } from './config.js';
import { registerHitl } from './hitl.js';

/**
 * The hitl service: hands conversations to human agents (the handoff queue,
 * accept, agent replies, close) through the agents' API.
 * Registers its infrastructure adapters (each adds its readiness check and
 * closes on shutdown, in reverse order).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({
    service: 'hitl',
    logger: deps.logger,
    metrics: deps.metrics,
    trustedProxyHops: trustedHops(config),
  });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'hitl',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
    consumerMetrics: kafkaConsumerMetrics(deps.metrics),
  });
  const { worker } = await registerHitl(app, {
    bus: app.kafka.bus,
    cache: app.cache,
    db: app.db,
    conversations: new ConversationStore(app.db),
    settings: config,
    logger: deps.logger,
    groupId: config.consumerGroup,
    metrics: deps.metrics,
  });
  superviseWorker(app, worker, { name: `consumer:${config.consumerGroup}` });
  return app;
}
