import type { FastifyInstance } from 'fastify';
import { hostname } from 'node:os';
import { Counter, Histogram } from 'prom-client';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { createAiWorker } from './ai-worker.js';
import type { Config } from './config.js';
import { Guardrails } from './domain/guardrails.js';
import { buildProviders } from './providers/build-providers.js';
import { DEFAULT_SYSTEM_PROMPT } from './providers/llm-options.js';
import { adminRoutes } from './routes/admin.route.js';

/**
 * The AI service: answers user messages through a reply provider (the
 * offline FAQ until the multi-provider router lands).
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'ai', logger: deps.logger, metrics: deps.metrics });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'ai',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
  });
  const duration = new Histogram({
    name: 'ai_reply_duration_seconds',
    help: 'Time to produce a reply, by provider',
    labelNames: ['provider'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [deps.metrics],
  });
  const failovers = new Counter({
    name: 'ai_provider_failovers_total',
    help: 'Answers moved off a provider, by provider and reason',
    labelNames: ['provider', 'reason'],
    registers: [deps.metrics],
  });
  const { provider, prober, enabled, health } = buildProviders(
    config,
    app.cache,
    hostname(),
    (event) => {
      if (event.kind === 'failover') failovers.inc({ provider: event.from, reason: event.reason });
    },
  );
  deps.logger.info({ providers: enabled.length ? enabled : ['offline'] }, 'Reply providers');
  const worker = createAiWorker({
    bus: app.kafka.bus,
    cache: app.cache,
    provider,
    logger: deps.logger.child({ component: 'ai-worker' }),
    metrics: { replied: (provider, ms) => duration.observe({ provider }, ms / 1000) },
    groupId: config.consumerGroup,
    defaultEmergencyContact: config.emergencyContact,
    guardrails: new Guardrails({
      cache: app.cache,
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      dailyTokenBudget: config.dailyTokenBudget,
    }),
  });
  await app.register(adminRoutes, {
    token: config.adminToken,
    providers: enabled,
    ...(health ? { health } : {}),
    setLogLevel: (level) => {
      deps.logger.level = level;
      app.log.level = level;
    },
  });
  app.readiness.add(`consumer:${config.consumerGroup}`, async () => {
    if (!worker.healthy) throw new Error('consumer is not running');
  });
  app.addHook('onReady', async () => {
    await worker.start();
    prober?.start();
  });
  app.addHook('onClose', async () => {
    prober?.stop();
    await worker.stop();
  });
  return app;
}
