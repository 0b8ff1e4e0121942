import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { aiModule } from '@parley/ai';
import { chatModule } from '@parley/chat';
import { ConversationStore, SessionCache, TenantStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { embeddedPorts, type MemoryBroker } from '@parley/embedded';
import { gatewayModule, type Gateway } from '@parley/gateway';
import { hitlModule, type Hitl } from '@parley/hitl';
import { knowledgeModule, type Knowledge } from '@parley/embedding';
import { voiceModule, type Voice } from '@parley/voice';
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
 * The six modules in one process on the embedded ports: the in-process
 * broker, PGlite in `config.dataDir` (`:memory:` keeps nothing) and the
 * in-memory cache. The services mount the same modules on Kafka, Redis and
 * Postgres. The demo tenant is (re)created once the port is known, allowed
 * on `http://localhost:<port>` and `http://127.0.0.1:<port>`.
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({
    service: 'parley',
    logger: deps.logger,
    metrics: deps.metrics,
    trustedProxyHops: trustedHops(config),
  });
  await app.register(embeddedPorts, { dataDir: config.dataDir });
  await migrate(app.ports.db);
  // One process serves every component: its health is each one's row on the status page.
  app.status.attach(app.ports.cache, {
    region: config.region,
    components: config.statusComponents,
  });
  await app.register(gatewayModule, { settings: config });
  // The in-process bus died with the last process: answer what it left unanswered.
  await app.register(chatModule, { settings: config, recoverUnanswered: true });
  await app.register(knowledgeModule, { settings: config });
  // The AI searches the knowledge bases in this process rather than over HTTP.
  await app.register(aiModule, {
    settings: config,
    knowledge: { search: (tenantId, query) => app.knowledge.search(tenantId, query) },
  });
  await app.register(hitlModule, { settings: config });
  if (!isLoopback(config.host)) await refusePublicDemoAgent(app.hitl.stores.agents, config);
  // Phone calls, when Twilio is configured.
  await app.register(voiceModule, { settings: config });

  const store = new ConversationStore(app.ports.db);
  let seeded!: { resolve(): void; reject(err: unknown): void };
  app.decorate('platform', {
    gateway: app.gateway,
    broker: app.embedded.broker,
    store,
    sessions: new SessionCache(app.ports.cache),
    hitl: app.hitl,
    knowledge: app.knowledge,
    voice: app.voice,
    seeded: new Promise<void>((resolve, reject) => (seeded = { resolve, reject })),
  });
  app.platform.seeded.catch(() => undefined); // reported by the hook, awaited by whoever wants it

  app.addHook('onListen', async () => {
    try {
      const { port } = app.server.address() as AddressInfo;
      // Through the operators' tenant API's own code path (TenantStore).
      await new TenantStore(app.ports.db).put(
        'demo',
        {
          name: 'Parley demo',
          allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
          emergencyContact: '+1 555 0100 (demo on-call line)',
        },
        { widgetKey: DEMO_WIDGET_KEY },
      );
      if (config.demoKnowledge) {
        const loaded = await loadDemoKnowledge(app.knowledge, 'demo');
        if (loaded > 0) app.log.info({ documents: loaded }, 'Demo knowledge base loaded');
      }
      // Created once: an agent changed, re-passworded or disabled since is left as it is.
      await app.hitl.stores.agents.createAgentIfAbsent({
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
  return app;
}

/** Hosts that listen on this machine's loopback only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Refuses to listen beyond loopback while anyone could sign in as the demo
 * agent with the password docs/agents.md publishes: the agent has it, or would
 * be created with it.
 */
async function refusePublicDemoAgent(
  agents: Hitl['stores']['agents'],
  config: Config,
): Promise<void> {
  const published = DEMO_AGENT.defaultPassword;
  const inUse = (await agents.agentExists(DEMO_AGENT.tenantId, DEMO_AGENT.id))
    ? (await agents.authenticate(DEMO_AGENT.tenantId, DEMO_AGENT.email, published)) !== null
    : (config.demoAgentPassword || published) === published;
  if (inUse)
    throw new Error(
      `HOST=${config.host} is reachable beyond this machine, and the demo agent ${DEMO_AGENT.email} ` +
        `has the published password: listen on localhost, or give the agent another password ` +
        `(PARLEY_DEMO_AGENT_PASSWORD before its first start, else the agents' admin API)`,
    );
}
