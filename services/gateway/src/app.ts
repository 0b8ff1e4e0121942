import type { FastifyInstance } from 'fastify';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { postgresPlugin } from '@parley/postgres';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import type { Config } from './config.js';
import { registerGateway } from './gateway.js';

/**
 * The gateway service: widget sessions over REST and WebSocket, user messages
 * onto conversation-events, replies back to whichever pod holds the socket.
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'gateway', logger: deps.logger, metrics: deps.metrics });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'gateway',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
  });
  await registerGateway(app, {
    bus: app.kafka.bus,
    cache: app.cache,
    db: app.db,
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  return app;
}
