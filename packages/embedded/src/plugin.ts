import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import { CONVERSATION_EVENTS_TOPIC } from '@parley/contracts';
import { busTracing, deliveryMetrics } from '@parley/observability';
import { MemoryBroker, type MemoryBrokerOptions } from './memory-bus.js';
import { MemoryCacheStore } from './memory-cache.js';
import { PgliteDatabase } from './pglite-database.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The embedded adapters behind `app.ports`, for the one-process host and its tests. */
    embedded: { broker: MemoryBroker; cacheStore: MemoryCacheStore; db: PgliteDatabase };
  }
}

/** Options for {@link embeddedPorts}. */
export interface EmbeddedPortsOptions {
  /** Where PGlite keeps its files; `undefined` or `:memory:` keeps nothing. */
  dataDir?: string;
}

async function embedded(app: FastifyInstance, options: EmbeddedPortsOptions): Promise<void> {
  const dataDir = options.dataDir === ':memory:' ? undefined : options.dataDir;
  const db = await PgliteDatabase.open(dataDir);
  // The same interceptors and delivery metrics as the distributed mode's Kafka consumers.
  const delivery: MemoryBrokerOptions = {
    interceptors: [busTracing('in-process')],
    metrics: deliveryMetrics(app.metrics),
    logger: app.logger.child({ component: 'bus' }),
  };
  const broker = new MemoryBroker({ ...delivery, topic: CONVERSATION_EVENTS_TOPIC });
  const topics = new Map<string, MemoryBroker>();
  const cacheStore = new MemoryCacheStore();
  const cache = cacheStore.client();
  app.ports.provide({
    bus: broker.bus(),
    // Each other topic is a broker of its own, as each is a topic of its own in Kafka.
    busFor: (topic) => {
      let other = topics.get(topic);
      if (!other) topics.set(topic, (other = new MemoryBroker({ ...delivery, topic })));
      return other.bus();
    },
    cache,
    db,
  });
  app.decorate('embedded', { broker, cacheStore, db });
  app.readiness.add('database', () => db.check());
  app.readiness.add('cache', () => cache.check());
  app.addHook('onClose', async () => {
    await cache.close();
    cacheStore.close();
    await db.close();
  });
}

/**
 * The infrastructure plugin of the one-process mode: provides `app.ports`
 * with the in-process bus, the in-memory cache and PGlite, adds their
 * readiness checks and closes them last (hooks run in reverse order).
 */
export const embeddedPorts = fp(embedded, { name: 'parley-embedded', fastify: '5.x' });
