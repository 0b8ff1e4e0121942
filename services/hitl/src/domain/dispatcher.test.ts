import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore, migrate } from '@parley/conversations';
import { MemoryBroker, MemoryCacheStore, PgliteDatabase } from '@parley/embedded';
import { createLogger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import { Dispatcher } from './dispatcher.js';
import { HandoffStore } from '../store/handoff-store.js';
import { QueueAnnouncer } from './queue-announcer.js';

let db: PgliteDatabase;
let handoffs: HandoffStore;
beforeAll(async () => {
  db = await PgliteDatabase.open();
  await migrate(db);
  const store = new ConversationStore(db);
  await store.upsertTenant({ id: 't', name: 't', widgetKey: 'pk_t', allowedOrigins: [] });
  handoffs = new HandoffStore(db);
  await handoffs.upsertAgent({
    tenantId: 't',
    id: 'ann',
    email: 'ann@t.test',
    name: 'Ann',
    password: 'ann-password',
  });
  await handoffs.setStrategy('t', 'least_busy');
  await handoffs.touchAgent('t', 'ann');
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
    handoffs,
    bus,
    announcer: new QueueAnnouncer(handoffs, cacheStore.client()),
    logger: createLogger({ service: 'hitl', level: 'silent' }),
  });
}

describe('Dispatcher', () => {
  it('puts a handoff back in the queue when its assignment cannot be announced, so it is never stuck', async () => {
    const { handoff } = await handoffs.enqueue({
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
    expect(await handoffs.handoff('t', handoff.id)).toMatchObject({
      status: 'queued',
      agentId: null,
    });
    // Once the bus works again the same handoff is dispatched, and announced.
    const broker = new MemoryBroker();
    expect(await dispatcher(broker.bus()).dispatch('t')).toBe(1);
    expect(await handoffs.handoff('t', handoff.id)).toMatchObject({
      status: 'assigned',
      agentId: 'ann',
    });
  });

  it('does nothing for a pooled tenant: agents claim', async () => {
    await handoffs.setStrategy('t', 'pooled');
    await handoffs.enqueue({
      tenantId: 't',
      id: 'h2',
      conversationId: 'c2',
      reason: 'user_request',
      eventId: 'ev-2',
      requestedAt: new Date(),
    });
    expect(await dispatcher(new MemoryBroker().bus()).dispatch('t')).toBe(0);
    expect(await handoffs.handoff('t', 'h2')).toMatchObject({ status: 'queued' });
  });
});
