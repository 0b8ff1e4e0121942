import { afterEach, describe, expect, it } from 'vitest';
import {
  EventRegistry,
  allEvents,
  callbackRequestedV1,
  conversationEndedV1,
  messageReceivedV1,
  type Event,
} from '@parley/contracts';
import { MemoryBroker, MemoryCache, MemoryCacheStore } from '@parley/embedded';
import { createLogger } from '@parley/observability';
import type { Subscription } from '@parley/ports';
import { ConversationLink } from './conversation-link.js';

/** A call's conversation on the bus: its end goes there too, so its handoff ends with it. */
const registry = new EventRegistry(allEvents);
const subscriptions: Subscription[] = [];
afterEach(async () => {
  await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
});

async function link() {
  const broker = new MemoryBroker();
  const bus = broker.bus();
  const seen: Event[] = [];
  const subscription = bus.subscribe({
    groupId: 'test',
    registry,
    fromBeginning: true,
    handler: async (event) => {
      seen.push(event);
    },
  });
  subscriptions.push(subscription);
  await subscription.start();
  const conversation = new ConversationLink(
    {
      bus,
      cache: new MemoryCache(new MemoryCacheStore()),
      registry,
      logger: createLogger({ service: 'voice', level: 'silent' }),
    },
    { tenantId: 'acme', callerNumber: '+15550123', language: 'en' },
    'visitor-key-0123456789',
  );
  await conversation.open(() => undefined);
  return { conversation, seen };
}

describe('ConversationLink', () => {
  it('puts the call’s end on the bus after what the caller said and booked, once', async () => {
    const { conversation, seen } = await link();
    await conversation.post('I would like to talk to an agent (pressed 0).');
    await conversation.requestCallback('+1 (555) 012-3');
    await conversation.close();
    await conversation.close();
    await expect
      .poll(() => seen.map((e) => e.type))
      .toEqual([messageReceivedV1.type, callbackRequestedV1.type, conversationEndedV1.type]);
    const ended = seen.at(-1)!;
    expect(ended.conversation_id).toBe(conversation.conversationId);
    expect(ended.tenant_id).toBe('acme');
    expect(ended.payload).toEqual({ channel: 'voice', reason: 'call_ended' });
  });

  it('puts nothing on the bus for a call where nothing was said', async () => {
    const { conversation, seen } = await link();
    await conversation.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([]);
  });
});
