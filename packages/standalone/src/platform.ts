import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createChatWorker, recoverUnanswered } from '@parley/chat/worker';
import { createAiWorker } from '@parley/ai/worker';
import { DEFAULT_SYSTEM_PROMPT, Guardrails, buildProviders } from '@parley/ai/answering';
import { ConversationStore, SessionCache, migrate } from '@parley/conversations';
import { MemoryBroker, MemoryCacheStore, PgliteDatabase } from '@parley/embedded';
import { registerGateway, type Gateway } from '@parley/gateway/gateway';
import { registerHitl, type Hitl } from '@parley/hitl/hitl';
import { registerKnowledge, type Knowledge } from '@parley/embedding/knowledge';
import { registerVoice, type Voice } from '@parley/voice/voice';
import { trustedHops } from '@parley/config';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { loadDemoKnowledge } from './demo-knowledge.js';

/** The demo tenant every fresh embedded platform has (see public/index.html). */
export const DEMO_WIDGET_KEY = 'pk_demo';

/** The demo agent every fresh embedded platform has (embedded mode only). */
export const DEMO_AGENT = {
  tenantId: 'demo',
  id: 'demo-agent',
  email: 'agent@parley.demo',
  name: 'Dana',
  defaultPassword: 'parley-demo',
} as const;

declare module 'fastify' {
  interface FastifyInstance {
    /** The embedded platform's parts, for tests and the benchmark. */
    platform: {
      gateway: Gateway;
      broker: MemoryBroker;
      store: ConversationStore;
      sessions: SessionCache;
      hitl: Hitl;
      knowledge: Knowledge;
      voice: Voice;
      /** Settles once the demo tenant, its knowledge and its agent are in place (after listening). */
      seeded: Promise<void>;
    };
  }
}

/**
 * Gateway, chat and AI in one process on the embedded adapters: the
 * in-process broker, PGlite in `config.dataDir` (`:memory:` keeps nothing)
 * and the in-memory cache. The same domain code as the services, with
 * different adapters. The demo tenant is (re)created once the port is known,
 * allowed on `http://localhost:<port>` and `http://127.0.0.1:<port>`.
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({
    service: 'parley',
    logger: deps.logger,
    metrics: deps.metrics,
    trustedProxyHops: trustedHops(config),
  });
  const db = await PgliteDatabase.open(config.dataDir === ':memory:' ? undefined : config.dataDir);
  await migrate(db);
  const broker = new MemoryBroker();
  const cacheStore = new MemoryCacheStore();
  const cache = cacheStore.client();
  const store = new ConversationStore(db);

  app.readiness.add('database', () => db.check());
  app.readiness.add('cache', () => cache.check());
  // One process serves every component: its health is each one's row on the status page.
  app.status.attach(cache, { region: config.region, components: config.statusComponents });
  const gateway = await registerGateway(app, {
    bus: broker.bus(),
    cache,
    db,
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const chatDeps = {
    bus: broker.bus(),
    cache,
    store,
    sessions: new SessionCache(cache),
    logger: deps.logger.child({ component: 'chat-worker' }),
    historyTurns: config.historyTurns,
  };
  // Knowledge bases: uploads through the same API, jobs on their own in-process topic.
  const knowledge = await registerKnowledge(app, {
    db,
    cache,
    jobs: new MemoryBroker().bus(),
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  // The same answering chain as the AI service: models when keys are set, else the offline FAQ.
  const ai = buildProviders(config, cache, 'standalone', {
    knowledge: { search: (tenantId, query) => knowledge.search(tenantId, query) },
    onLevelChange: (level, previous, reasons) => {
      deps.logger.warn({ level, previous, reasons }, 'Degradation level changed');
      app.status.setDegradation({ level, reasons });
    },
    onAssess: ({ level, reasons }) => app.status.setDegradation({ level, reasons }),
  });
  if (ai.enabled.length) deps.logger.info({ providers: ai.enabled }, 'Reply providers');
  const workers = [
    createChatWorker(chatDeps),
    createAiWorker({
      bus: broker.bus(),
      cache,
      provider: ai.provider,
      level: () => ai.degradation.level,
      guardrails: new Guardrails({
        cache,
        systemPrompt: DEFAULT_SYSTEM_PROMPT,
        dailyTokenBudget: config.dailyTokenBudget,
      }),
      defaultEmergencyContact: config.emergencyContact,
      logger: deps.logger.child({ component: 'ai-worker' }),
    }),
  ];
  const hitl = await registerHitl(app, {
    bus: broker.bus(),
    cache,
    db,
    conversations: store,
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  workers.push(hitl.worker, knowledge.worker);
  if (!isLoopback(config.host)) await refusePublicDemoAgent(hitl.handoffs, config);
  // Phone calls, when Twilio is configured: the same pipeline as the voice service.
  const voice = await registerVoice(app, {
    bus: broker.bus(),
    cache,
    db,
    settings: config,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  let seeded!: { resolve(): void; reject(err: unknown): void };
  app.decorate('platform', {
    gateway,
    broker,
    store,
    sessions: new SessionCache(cache),
    hitl,
    knowledge,
    voice,
    seeded: new Promise<void>((resolve, reject) => (seeded = { resolve, reject })),
  });
  app.platform.seeded.catch(() => undefined); // reported by the hook, awaited by whoever wants it

  app.addHook('onReady', async () => {
    for (const worker of workers) await worker.start();
    ai.prober?.start();
    ai.degradation.start();
    // The in-process bus died with the last process: answer what it left unanswered.
    const recovered = await recoverUnanswered(chatDeps);
    if (recovered > 0) deps.logger.info({ recovered }, 'Requested replies left unanswered');
  });
  app.addHook('onListen', async () => {
    try {
      const { port } = app.server.address() as AddressInfo;
      await store.upsertTenant({
        id: 'demo',
        name: 'Parley demo',
        widgetKey: DEMO_WIDGET_KEY,
        allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
        emergencyContact: '+1 555 0100 (demo on-call line)',
      });
      if (config.demoKnowledge) {
        const loaded = await loadDemoKnowledge(knowledge, 'demo');
        if (loaded > 0) app.log.info({ documents: loaded }, 'Demo knowledge base loaded');
      }
      // Created once: an agent changed, re-passworded or disabled since is left as it is.
      await hitl.handoffs.createAgentIfAbsent({
        tenantId: DEMO_AGENT.tenantId,
        id: DEMO_AGENT.id,
        email: DEMO_AGENT.email,
        name: DEMO_AGENT.name,
        password: config.demoAgentPassword || DEMO_AGENT.defaultPassword,
      });
      app.log.info({ url: `http://localhost:${port}` }, 'Parley is running: open the URL to chat');
      seeded.resolve();
    } catch (err) {
      seeded.reject(err);
      throw err;
    }
  });
  app.addHook('onClose', async () => {
    ai.degradation.stop();
    ai.prober?.stop();
    for (const worker of workers) await worker.stop();
    await cache.close();
    cacheStore.close();
    await db.close();
  });
  return app;
}

/** Hosts that listen on this machine's loopback only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Refuses to listen beyond loopback while anyone could sign in as the demo
 * agent with the password the README publishes: the agent has it, or would
 * be created with it.
 */
async function refusePublicDemoAgent(handoffs: Hitl['handoffs'], config: Config): Promise<void> {
  const published = DEMO_AGENT.defaultPassword;
  const inUse = (await handoffs.agentExists(DEMO_AGENT.tenantId, DEMO_AGENT.id))
    ? (await handoffs.authenticate(DEMO_AGENT.tenantId, DEMO_AGENT.email, published)) !== null
    : (config.demoAgentPassword || published) === published;
  if (inUse)
    throw new Error(
      `HOST=${config.host} is reachable beyond this machine, and the demo agent ${DEMO_AGENT.email} ` +
        `has the published password: listen on localhost, or give the agent another password ` +
        `(PARLEY_DEMO_AGENT_PASSWORD before its first start, else the agents' admin API)`,
    );
}
