import type { FastifyInstance } from 'fastify';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram } from 'prom-client';
import { kafkaConsumerMetrics, resilienceMetrics } from '@parley/observability';
import { createApp, superviseWorker } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { createAiWorker } from './ai-worker.js';
import type { Config } from './config.js';
import { levelNumber } from './domain/degradation.js';
import { Guardrails } from './domain/guardrails.js';
import { buildProviders } from './providers/build-providers.js';
import { HttpKnowledgeSearch } from './providers/knowledge-client.js';
import { DEFAULT_SYSTEM_PROMPT } from './providers/llm-options.js';
import { adminRoutes } from './routes/admin.route.js';

/**
 * The AI service: answers user messages through the answering chain
 * (response cache, model router, backup responses), under the guardrails and
 * the degradation level; operators' admin API behind a bearer token.
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
    consumerMetrics: kafkaConsumerMetrics(deps.metrics),
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
  const levelGauge = new Gauge({
    name: 'ai_degradation_level',
    help: 'Degradation level, 0 (L0, normal) to 5 (L5, full outage: callback queue)',
    registers: [deps.metrics],
  });
  // Knowledge search (RAG) through the embedding service, under its own breaker (shared metrics).
  const resilience = resilienceMetrics(deps.metrics);
  const knowledge = config.knowledgeUrl
    ? new HttpKnowledgeSearch({
        baseUrl: config.knowledgeUrl,
        token: config.knowledgeSearchToken,
        sink: resilience,
      })
    : undefined;
  const { provider, prober, enabled, health, degradation, router } = buildProviders(
    // Without a health URL of its own, the knowledge base is up when the embedding service is ready.
    config.knowledgeUrl && !config.knowledgeHealthUrl
      ? { ...config, knowledgeHealthUrl: `${config.knowledgeUrl}/readyz` }
      : config,
    app.cache,
    hostname(),
    {
      ...(knowledge ? { knowledge } : {}),
      onEvent: (event) => {
        if (event.kind === 'failover')
          failovers.inc({ provider: event.from, reason: event.reason });
      },
      onLevelChange: (next, previous, reasons) => {
        levelGauge.set(levelNumber(next));
        deps.logger.warn({ level: next, previous, reasons }, 'Degradation level changed');
        // The status page shows a new level at once, not at the next assessment.
        app.status.setDegradation({ level: next, reasons });
      },
      onAssess: ({ level, reasons }) => app.status.setDegradation({ level, reasons }),
    },
  );
  levelGauge.set(0);
  // Each provider's breaker on this replica, as the shared resilience metrics (dependency `llm:<name>`).
  for (const [name, breaker] of router?.breakers ?? []) {
    breaker.onStateChange((state) => resilience.stateChanged(`llm:${name}`, state));
    breaker.onReject(() => resilience.rejected(`llm:${name}`, 'circuit_open'));
  }
  const worker = createAiWorker({
    bus: app.kafka.bus,
    cache: app.cache,
    provider,
    logger: deps.logger.child({ component: 'ai-worker' }),
    metrics: { replied: (provider, ms) => duration.observe({ provider }, ms / 1000) },
    groupId: config.consumerGroup,
    level: () => degradation.level,
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
    ...(router ? { breakers: router.breakers } : {}),
    degradation: () => degradation.status(),
    setLogLevel: (level) => {
      deps.logger.level = level;
      app.log.level = level;
    },
  });
  superviseWorker(app, worker, { name: `consumer:${config.consumerGroup}` });
  // Degraded is still ready (it answers); the level is in the details for operators and probes.
  app.readiness.add('degradation', async () => {
    const { level, reasons } = degradation.status();
    return { level, reasons };
  });
  app.addHook('onReady', async () => {
    prober?.start();
    degradation.start();
  });
  app.addHook('onClose', async () => {
    degradation.stop();
    prober?.stop();
  });
  return app;
}
