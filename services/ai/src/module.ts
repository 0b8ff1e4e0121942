import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram } from 'prom-client';
import { resilienceMetrics } from '@parley/observability';
import { superviseWorker, withErrorPrefix } from '@parley/service-kit';
import { AI_GROUP, createAiWorker } from './ai-worker.js';
import type { AiConfig } from './config.js';
import { AI_ERROR_PREFIX } from './errors.js';
import { levelNumber } from './domain/degradation.js';
import { Guardrails } from './domain/guardrails.js';
import type { KnowledgeSearch } from './domain/knowledge.js';
import { buildProviders } from './providers/build-providers.js';
import { HttpKnowledgeSearch } from './providers/knowledge-client.js';
import { DEFAULT_SYSTEM_PROMPT } from './providers/llm-options.js';
import { adminRoutes } from './routes/admin.route.js';

/** Options for {@link aiModule}. */
export interface AiModuleOptions {
  settings: AiConfig & { region?: string };
  /**
   * Knowledge search in this process (the one-process platform). Without it,
   * `AI_KNOWLEDGE_URL` names the embedding service, searched over HTTP.
   */
  knowledge?: KnowledgeSearch;
  /** The consumer group on `conversation-events`. @default 'ai' */
  groupId?: string;
}

/**
 * The AI: answers each `reply.requested` through the answering chain
 * (response cache, model router, backup answers) under the guardrails and
 * the degradation level; the operators' admin API; its metrics; the level in
 * readiness. Runs on `app.ports` (bus and cache), the same in both modes.
 */
async function ai(app: FastifyInstance, { settings, ...options }: AiModuleOptions): Promise<void> {
  const { bus, cache } = app.ports;
  const groupId = options.groupId ?? AI_GROUP;
  const duration = new Histogram({
    name: 'ai_reply_duration_seconds',
    help: 'Time to produce a reply, by provider',
    labelNames: ['provider'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [app.metrics],
  });
  const failovers = new Counter({
    name: 'ai_provider_failovers_total',
    help: 'Answers moved off a provider, by provider and reason',
    labelNames: ['provider', 'reason'],
    registers: [app.metrics],
  });
  const levelGauge = new Gauge({
    name: 'ai_degradation_level',
    help: 'Degradation level, 0 (L0, normal) to 5 (L5, full outage: callback queue)',
    registers: [app.metrics],
  });
  // Knowledge search (RAG): in process, or the embedding service under its own breaker.
  const resilience = resilienceMetrics(app.metrics);
  const knowledge =
    options.knowledge ??
    (settings.knowledgeUrl
      ? new HttpKnowledgeSearch({
          baseUrl: settings.knowledgeUrl,
          token: settings.knowledgeSearchToken,
          sink: resilience,
        })
      : undefined);
  const { provider, prober, enabled, health, degradation, router } = buildProviders(
    // Without a health URL of its own, the knowledge base is up when the embedding service is ready.
    settings.knowledgeUrl && !settings.knowledgeHealthUrl && !options.knowledge
      ? { ...settings, knowledgeHealthUrl: `${settings.knowledgeUrl}/readyz` }
      : settings,
    cache,
    hostname(),
    {
      ...(knowledge ? { knowledge } : {}),
      onEvent: (event) => {
        if (event.kind === 'failover')
          failovers.inc({ provider: event.from, reason: event.reason });
      },
      onLevelChange: (next, previous, reasons) => {
        levelGauge.set(levelNumber(next));
        app.log.warn({ level: next, previous, reasons }, 'Degradation level changed');
        // The status page shows a new level at once, not at the next assessment.
        app.status.setDegradation({ level: next, reasons });
      },
      onAssess: ({ level, reasons }) => app.status.setDegradation({ level, reasons }),
    },
  );
  levelGauge.set(0);
  if (enabled.length) app.log.info({ providers: enabled }, 'Reply providers');
  // Each provider's breaker on this replica, as the shared resilience metrics (dependency `llm:<name>`).
  for (const [name, breaker] of router?.breakers ?? []) {
    breaker.onStateChange((state) => resilience.stateChanged(`llm:${name}`, state));
    breaker.onReject(() => resilience.rejected(`llm:${name}`, 'circuit_open'));
  }
  const worker = createAiWorker({
    bus,
    cache,
    provider,
    logger: app.logger.child({ component: 'ai-worker' }),
    metrics: { replied: (provider, ms) => duration.observe({ provider }, ms / 1000) },
    groupId,
    level: () => degradation.level,
    defaultEmergencyContact: settings.emergencyContact,
    guardrails: new Guardrails({
      cache,
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      dailyTokenBudget: settings.dailyTokenBudget,
    }),
  });
  // The routes answer fastify's refusals as AI_ERR_* in both modes (the embedded root is `GW`).
  await withErrorPrefix(app, AI_ERROR_PREFIX, async (scope) => {
    await scope.register(adminRoutes, {
      token: settings.adminToken,
      providers: enabled,
      ...(health ? { health } : {}),
      ...(router ? { breakers: router.breakers } : {}),
      degradation: () => degradation.status(),
      setLogLevel: (level) => {
        app.logger.level = level;
      },
    });
  });
  superviseWorker(app, worker, { name: `consumer:${groupId}` });
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
}

export const aiModule = fp(ai, { name: 'parley-ai', fastify: '5.x' });
