import type { FastifyInstance } from 'fastify';
import { ConversationStore, SessionCache } from '@parley/conversations';
import { createApp, superviseWorker } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { postgresPlugin } from '@parley/postgres';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { kafkaConsumerMetrics } from '@parley/observability';
import { Counter, Gauge } from 'prom-client';
import { ActiveSessions } from './active-sessions.js';
import { createChatWorker } from './chat-worker.js';
import type { Config } from './config.js';

/**
 * The chat service: stores conversations and messages in order and routes
 * replies back to the gateway pods. Adapters register first (and close last).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'chat', logger: deps.logger, metrics: deps.metrics });
  await app.register(postgresPlugin, {
    primaryUrl: config.pgPrimaryUrl,
    replicaUrls: config.pgReplicaUrls,
    maxPoolSize: config.pgPoolMax,
  });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'chat',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
    consumerMetrics: kafkaConsumerMetrics(deps.metrics),
  });

  const stored = new Counter({
    name: 'chat_messages_stored_total',
    help: 'Messages stored, by role',
    labelNames: ['role'],
    registers: [deps.metrics],
  });
  const active = new ActiveSessions();
  new Gauge({
    name: 'active_sessions',
    help: 'Conversations this pod served in the last 5 minutes (the chat HPA metric: 100 per pod)',
    registers: [deps.metrics],
    collect() {
      this.set(active.count());
    },
  });
  const worker = createChatWorker({
    bus: app.kafka.bus,
    cache: app.cache,
    store: new ConversationStore(app.db),
    sessions: new SessionCache(app.cache),
    logger: deps.logger.child({ component: 'chat-worker' }),
    historyTurns: config.historyTurns,
    groupId: config.consumerGroup,
    metrics: {
      stored: (role) => stored.inc({ role }),
      active: (tenantId, conversationId) => active.touch(tenantId, conversationId),
    },
  });
  superviseWorker(app, worker, { name: `consumer:${config.consumerGroup}` });
  return app;
}
