import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { MemoryBroker, MemoryCacheStore, PgliteDatabase } from '@parley/embedded';
import { createLogger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import { Dispatcher } from './dispatcher.js';
import { createHitlStores, type HitlStores } from '../store/index.js';
import { QueueAnnouncer } from './queue-announcer.js';

let db: PgliteDatabase;
let stores: HitlStores;
beforeAll(async () => {
  db = await PgliteDatabase.open();
  await migrate(db);
  const store = new ConversationStore(db);
  await store.upsertTenant({ id: 't', name: 't', widgetKey: 'pk_t', allowedOrigins: [] });
  stores = createHitlStores(db);
  await stores.agents.upsertAgent({
    tenantId: 't',
    id: 'ann',
    email: 'ann@t.test',
    name: 'Ann',
    password: 'ann-password',
  });
  await stores.hitlSettings.setStrategy('t', 'least_busy');
  await stores.agents.touchAgent('t', 'ann');
  for (const id of ['c1', 'c2'])
    await store.appendMessage({
      tenantId: 't',
      conversationId: id,
      visitorId: 'v',
      channel: 'web',
      role: 'user',
      messageId: `m-${id}`,
      clientMessageId: `cm-${id}`,
      eventId: `e-${id}`,
      text: 'I want a person',
      receivedAt: new Date(),
    });
});
afterAll(() => db?.close());

function dispatcher(bus: EventBus) {
  const cacheStore = new MemoryCacheStore();
  return new Dispatcher({
    handoffs: stores.handoffs,
    hitlSettings: stores.hitlSettings,
    bus,
    announcer: new QueueAnnouncer(stores.handoffs, cacheStore.client()),
    logger: createLogger({ service: 'hitl', level: 'silent' }),
  });
}

describe('Dispatcher', () => {
  it('puts a handoff back in the queue when its assignment cannot be announced, so it is never stuck', async () => {
    const { handoff } = await stores.handoffs.enqueue({
      tenantId: 't',
      id: 'h1',
      conversationId: 'c1',
      reason: 'user_request',
      eventId: 'ev-1',
      requestedAt: new Date(),
    });
    const broken: EventBus = {
      ...new MemoryBroker().bus(),
      publish: () => Promise.reject(new Error('kafka unavailable')),
    };
    expect(await dispatcher(broken).dispatch('t')).toBe(0);
    expect(await stores.handoffs.handoff('t', handoff.id)).toMatchObject({
      status: 'queued',
      agentId: null,
    });
    // Once the bus works again the same handoff is dispatched, and announced.
    const broker = new MemoryBroker();
    expect(await dispatcher(broker.bus()).dispatch('t')).toBe(1);
    expect(await stores.handoffs.handoff('t', handoff.id)).toMatchObject({
      status: 'assigned',
      agentId: 'ann',
    });
  });

  it('does nothing for a pooled tenant: agents claim', async () => {
    await stores.hitlSettings.setStrategy('t', 'pooled');
    await stores.handoffs.enqueue({
      tenantId: 't',
      id: 'h2',
      conversationId: 'c2',
      reason: 'user_request',
      eventId: 'ev-2',
      requestedAt: new Date(),
    });
    expect(await dispatcher(new MemoryBroker().bus()).dispatch('t')).toBe(0);
    expect(await stores.handoffs.handoff('t', 'h2')).toMatchObject({ status: 'queued' });
  });
});
