import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import { ConversationStore } from '@parley/conversations';
import { superviseWorker, withErrorPrefix } from '@parley/service-kit';
import { HITL_GROUP, createHandoffWorker } from './consumers/handoff-requested.consumer.js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AgentTokens } from './domain/agent-tokens.js';
import { QueueAnnouncer } from './domain/queue-announcer.js';
import { HandoffSweeper } from './domain/sweeper.js';
import { Dispatcher } from './domain/dispatcher.js';
import type { HitlConfig } from './config.js';
import { HITL_ERROR_PREFIX } from './errors.js';
import { createHitlStores, type HandoffStore, type HitlStores } from './store/index.js';
import { agentRoutes } from './routes/agent/index.js';
import { OidcVerifier } from './adapters/oidc.js';
import { hitlAdminRoutes } from './routes/admin.route.js';
import { homeRegionBus } from './adapters/home-region-bus.js';
import type { EventBus } from '@parley/ports';

declare module 'fastify' {
  interface FastifyInstance {
    /** The handoffs' store and timers (for the one-process host and tests). */
    hitl: Hitl;
  }
}

/** Options for {@link hitlModule}. */
export interface HitlModuleOptions {
  /** Signs agents' tokens (at least 32 characters) and the handoff timers. */
  settings: HitlConfig;
  /** The consumer group on `conversation-events`. @default 'hitl' */
  groupId?: string;
  /**
   * Several regions share the handoffs (docs/multi-region.md): events about
   * a conversation are published to its home region's Kafka (`remotes`, by
   * region), and the queue metrics count this region's conversations only.
   */
  regions?: { region: string; remotes: ReadonlyMap<string, Pick<EventBus, 'publish'>> };
}

/** What {@link hitlModule} decorates the app with, as `app.hitl`. */
export interface Hitl {
  /** The service's stores: handoffs, agents, callbacks, the tenants' handoff settings. */
  stores: HitlStores;
  /** The handoff timers (started and stopped with the app). */
  sweeper: HandoffSweeper;
}

/**
 * Human handoff: the queue of conversations waiting for an agent, the
 * agents' API and console, dispatch, the handoff timers, the operators'
 * agent admin, and the queue metrics (the hitl HPA scales on
 * `hitl_queue_size`). Runs on `app.ports`, the same in both modes.
 */
async function hitl(app: FastifyInstance, options: HitlModuleOptions): Promise<void> {
  const { cache, db } = app.ports;
  const conversations = new ConversationStore(db);
  const regions = options.regions?.remotes.size ? options.regions : undefined;
  const deps = {
    bus: regions ? routedBus(app, app.ports.bus, conversations, regions) : app.ports.bus,
    cache,
    conversations,
    settings: options.settings,
    logger: app.logger,
  };
  const groupId = options.groupId ?? HITL_GROUP;
  if (!deps.settings.oidcIssuer !== !deps.settings.oidcClientId)
    throw new Error('HITL_OIDC_ISSUER and HITL_OIDC_CLIENT_ID are set together, or neither');
  const stores = createHitlStores(db);
  const { handoffs, agents, callbacks, hitlSettings } = stores;
  const tokens = new AgentTokens(deps.settings.agentSecret);
  const announcer = new QueueAnnouncer(handoffs, deps.cache);
  const metrics = hitlMetrics(app.metrics, handoffs, regions?.region);
  const dispatcher = new Dispatcher({
    handoffs,
    hitlSettings,
    bus: deps.bus,
    announcer,
    logger: deps.logger.child({ component: 'dispatcher' }),
    onAssigned: metrics.accepted,
  });
  // Every change of queue or capacity: tell consoles and visitors, then dispatch what can be.
  const queueChanged = async (tenantId: string) => {
    await announcer
      .changed(tenantId)
      .catch((err: unknown) => deps.logger.warn({ err }, 'Queue not announced'));
    await dispatcher
      .dispatch(tenantId)
      .catch((err: unknown) => deps.logger.warn({ err }, 'Dispatch failed'));
  };
  // The routes answer fastify's refusals as HITL_ERR_* in both modes (the embedded root is `GW`).
  await withErrorPrefix(app, HITL_ERROR_PREFIX, async (scope) => {
    // The agent console: static files under /console/ (the API below serves its data).
    await scope.register(fastifyStatic, {
      root: fileURLToPath(new URL('../public/', import.meta.url)),
      prefix: '/console/',
      index: ['index.html'],
      decorateReply: false,
      serveDotFiles: false,
      maxAge: 60_000,
      // Defence in depth against XSS: only the console's own files run.
      setHeaders: (reply) => {
        reply.header('content-security-policy', "default-src 'self'; frame-ancestors 'none'");
        reply.header('x-content-type-options', 'nosniff');
      },
    });
    await scope.register(agentRoutes, {
      bus: deps.bus,
      cache: deps.cache,
      handoffs,
      agents,
      callbacks,
      hitlSettings,
      conversations: deps.conversations,
      tokens,
      dispatcher,
      queueChanged,
      signInBurst: {
        perAddress: deps.settings.signInBurstPerAddress,
        perAccount: deps.settings.signInBurstPerAccount,
      },
      ...(deps.settings.oidcIssuer && deps.settings.oidcClientId
        ? {
            oidc: new OidcVerifier({
              issuer: deps.settings.oidcIssuer,
              clientId: deps.settings.oidcClientId,
              ...(deps.settings.oidcJwksUrl ? { jwksUrl: deps.settings.oidcJwksUrl } : {}),
            }),
          }
        : {}),
      metrics,
    });
    await scope.register(hitlAdminRoutes, {
      token: deps.settings.adminToken,
      agents,
      hitlSettings,
      queueChanged,
    });
  });
  const worker = createHandoffWorker({
    bus: deps.bus,
    cache: deps.cache,
    handoffs,
    agents,
    callbacks,
    hitlSettings,
    conversations: deps.conversations,
    announcer,
    dispatcher,
    logger: deps.logger.child({ component: 'handoff-worker' }),
    groupId,
  });
  const sweeper = new HandoffSweeper({
    handoffs,
    bus: deps.bus,
    announcer,
    dispatcher,
    logger: deps.logger.child({ component: 'handoff-timers' }),
    agentReplyTimeoutMs: deps.settings.agentReplyTimeoutMs,
    slaMs: deps.settings.slaMs,
    intervalMs: deps.settings.sweepIntervalMs,
    onEscalated: metrics.escalated,
  });
  superviseWorker(app, worker, { name: `consumer:${groupId}` });
  app.addHook('onReady', async () => sweeper.start());
  app.addHook('onClose', async () => sweeper.stop());
  app.decorate('hitl', {
    stores,
    sweeper,
  } satisfies Hitl);
}

export const hitlModule = fp(hitl, { name: 'parley-hitl', fastify: '5.x' });

/** hitl's bus across regions, counting where each event went (`hitl_events_routed_total`). */
function routedBus(
  app: FastifyInstance,
  local: EventBus,
  conversations: ConversationStore,
  regions: NonNullable<HitlModuleOptions['regions']>,
): EventBus {
  const routed = new Counter({
    name: 'hitl_events_routed_total',
    help: "Events hitl published, by region and outcome: to the conversation's home region (home), here (local), or here because the home region did not answer (fallback)",
    labelNames: ['region', 'outcome'],
    registers: [app.metrics],
  });
  return homeRegionBus({
    local,
    region: regions.region,
    remotes: regions.remotes,
    homeOf: async (tenantId, conversationId) =>
      // From this region's replica: a home changes when a visitor moves, rarely, and
      // a read of the primary would cost a round trip to another region.
      (await conversations.conversation(tenantId, conversationId, 'replica'))?.homeRegion ?? null,
    logger: app.logger.child({ component: 'home-region-bus' }),
    onRouted: (region, outcome) => routed.inc({ region, outcome }),
  });
}

/**
 * The handoff metrics: queue size and oldest wait per queue, read from
 * Postgres at each scrape (so every replica reports the same truth), time
 * to accept, and handoffs handled per agent.
 */
function hitlMetrics(registry: Registry, handoffs: HandoffStore, region?: string) {
  // One query per scrape fills both gauges (prom-client collects them concurrently).
  type Sizes = Awaited<ReturnType<HandoffStore['queueSizes']>> | null;
  let snapshot = { at: 0, queues: Promise.resolve<Sizes>(null) };
  const queues = (): Promise<Sizes> => {
    if (Date.now() - snapshot.at > 1_000)
      snapshot = { at: Date.now(), queues: handoffs.queueSizes(region).catch(() => null) };
    return snapshot.queues;
  };
  const perQueue = (
    name: string,
    help: string,
    value: (q: { size: number; oldestSeconds: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue', 'language'],
      registers: [registry],
      async collect() {
        const current = await queues();
        if (!current) return; // the database did not answer: keep the last values rather than report 0
        this.reset();
        this.set({ queue: 'general', language: 'any' }, 0);
        for (const q of current) this.set({ queue: q.queue, language: q.language }, value(q));
      },
    });
  perQueue(
    'hitl_queue_size',
    'Handoffs waiting for an agent, per queue and language (the hitl HPA metric: their sum)',
    (q) => q.size,
  );
  perQueue(
    'hitl_queue_oldest_wait_seconds',
    'How long the oldest waiting handoff has waited, per queue and language',
    (q) => q.oldestSeconds,
  );
  const toAccept = new Histogram({
    name: 'hitl_time_to_accept_seconds',
    help: 'From handoff request to an agent accepting it',
    buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const handled = new Counter({
    name: 'hitl_handoffs_handled_total',
    help: 'Handoffs closed, per agent',
    labelNames: ['agent'],
    registers: [registry],
  });
  const escalations = new Counter({
    name: 'hitl_escalations_total',
    help: 'Handoffs escalated: waiting past the SLA (sla_breached), or requeued without an agent reply (no_agent_reply)',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of ['sla_breached', 'no_agent_reply']) escalations.inc({ kind }, 0);
  return {
    accepted: (waitSeconds: number) => toAccept.observe(Math.max(0, waitSeconds)),
    closed: (agentId: string) => handled.inc({ agent: agentId }),
    escalated: (kind: 'sla_breached' | 'no_agent_reply') => escalations.inc({ kind }),
  };
}
