/**
 * The services' infrastructure plugin: the real adapters, from the
 * environment variables every service shares, provided as `app.ports`.
 *
 * ```ts
 * const app = createApp({ service: 'chat', logger, metrics });
 * await app.register(infrastructure, { service: 'chat', settings: config });
 * await app.register(chatModule, { settings: config });
 * ```
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ConfigOf, kafkaFields, postgresFields, redisFields } from '@parley/config';
import { kafkaPlugin, kafkaSecurity } from '@parley/kafka';
import { busTracing, kafkaConsumerMetrics } from '@parley/observability';
import { postgresPlugin } from '@parley/postgres';
import { redisPlugin } from '@parley/redis';
import type {} from '@parley/service-kit';

/** Options for {@link infrastructure}. */
export interface InfrastructureOptions {
  /** The service's name: Kafka's client id. */
  service: string;
  /** Kafka's variables; Postgres and Redis are connected when their variables are part of them. */
  settings: ConfigOf<typeof kafkaFields> &
    Partial<ConfigOf<typeof postgresFields> & ConfigOf<typeof redisFields>>;
  /** More topics than `conversation-events` (each with its dead letters): `knowledge-jobs`. */
  extraTopics?: string[];
}

async function adapters(app: FastifyInstance, options: InfrastructureOptions): Promise<void> {
  const { settings } = options;
  // Registered in this order, closed in the reverse: consumers stop before the pools they use.
  if (settings.pgPrimaryUrl)
    await app.register(postgresPlugin, {
      primaryUrl: settings.pgPrimaryUrl,
      replicaUrls: settings.pgReplicaUrls ?? [],
      maxPoolSize: settings.pgPoolMax ?? 10,
      preparedStatements: settings.pgPrepared ?? true,
    });
  if (settings.redisUrl)
    await app.register(redisPlugin, {
      url: settings.redisUrl,
      ...(settings.redisCaFile ? { caFile: settings.redisCaFile } : {}),
      ...(settings.redisSentinels?.length
        ? { sentinels: settings.redisSentinels, sentinelMaster: settings.redisSentinelMaster! }
        : {}),
      ...(settings.redisClusterNodes?.length ? { clusterNodes: settings.redisClusterNodes } : {}),
    });
  await app.register(kafkaPlugin, {
    brokers: settings.kafkaBrokers,
    security: kafkaSecurity(settings),
    createTopics: settings.kafkaCreateTopics,
    clientId: options.service,
    topic: settings.kafkaTopic,
    ...(options.extraTopics ? { extraTopics: options.extraTopics } : {}),
    consumerConcurrency: settings.kafkaConsumerConcurrency,
    partitions: settings.kafkaTopicPartitions,
    replicationFactor: settings.kafkaReplicationFactor,
    minInsyncReplicas: settings.kafkaMinInsyncReplicas,
    consumerMetrics: kafkaConsumerMetrics(app.metrics),
    interceptors: [busTracing('kafka')],
  });
}

/**
 * Connects Postgres (primary and replicas), Redis and Kafka while
 * registering, and provides them as `app.ports` (`db`, `cache`, `bus`,
 * `busFor`); each adds its readiness check and closes on shutdown.
 */
export const infrastructure = fp(adapters, { name: 'parley-infrastructure', fastify: '5.x' });
