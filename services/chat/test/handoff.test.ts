import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import {
  EventRegistry,
  agentRepliedV1,
  conversationChannel,
  handoffAcceptedV1,
  handoffClosedV1,
  handoffRequestedV1,
  handoffTransferredV1,
  messageReceivedV1,
  replyRequestedV1,
  type Event,
  type ReplyRequestedV1,
} from '@parley/contracts';
import { ConversationStore } from '@parley/conversations';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { migrate } from '@parley/schema';
import { createApp } from '@parley/service-kit';
import { expectEventually } from '@parley/testing';
import { chatFields } from '../src/config.js';
import { SATISFACTION_QUESTION } from '../src/consumers/handoff.consumer.js';
import { chatModule } from '../src/module.js';

/**
 * How the chat service stores a conversation changing hands: a handoff
 * waits while the bot keeps answering, an agent joins and the bot falls
 * silent, agents reply, a transfer sends it back to the queue, and a close
 * gives it back to the bot (with the tenant's satisfaction question). Every
 * change reaches the widget live, and redelivered events change nothing.
 */
const TENANT = 'chat-handoff';
let app: FastifyInstance;
let store: ConversationStore;
const requests: Array<Event<ReplyRequestedV1>> = [];
const unsubscribes: Array<() => Promise<void>> = [];
const registry = new EventRegistry([
  messageReceivedV1,
  replyRequestedV1,
  handoffRequestedV1,
  handoffAcceptedV1,
  handoffClosedV1,
  handoffTransferredV1,
  agentRepliedV1,
]);

beforeAll(async () => {
  app = createApp({
    service: 'chat',
    logger: createLogger({ service: 'chat', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'chat', processMetrics: false }),
  });
  await app.register(embeddedPorts, {});
  await migrate(app.ports.db);
  store = new ConversationStore(app.ports.db);
  await store.upsertTenant({
    id: TENANT,
    name: TENANT,
    widgetKey: 'pk_chat_handoff',
    allowedOrigins: [],
    aiSettings: { satisfaction_question: true },
  });
  await app.register(chatModule, { settings: loadConfig(chatFields, {}) });
  const listener = app.ports.bus.subscribe({
    groupId: 'test',
    registry,
    fromBeginning: true,
    handler: async (event) => {
      if (event.type === replyRequestedV1.type) requests.push(event as Event<ReplyRequestedV1>);
    },
  });
  app.addHook('onClose', () => listener.stop());
  await app.ready();
  await listener.start();
});

afterAll(async () => {
  await Promise.all(unsubscribes.map((u) => u()));
  await app?.close();
});

/** One conversation: publishes its events, and records what its widget is told live. */
async function conversation() {
  const id = randomUUID();
  const live: Array<{
    kind: string;
    message?: { seq: number; role: string; text: string };
    state?: object;
  }> = [];
  const unsubscribe = await app.ports.cache.subscribe(conversationChannel(TENANT, id), (raw) =>
    live.push(JSON.parse(raw)),
  );
  unsubscribes.push(unsubscribe);
  const publish = <P>(def: { type: string; version: number; payload: unknown }, payload: P) => {
    const event = registry.create(def as Parameters<EventRegistry['create']>[0], {
      conversationId: id,
      tenantId: TENANT,
      payload,
    });
    return app.ports.bus.publish(event).then(() => event);
  };
  return {
    id,
    live,
    publish,
    say: (text: string) =>
      publish(messageReceivedV1, {
        message_id: randomUUID(),
        client_message_id: randomUUID(),
        visitor_id: 'visitor-1',
        channel: 'web',
        text,
      }),
    stored: async () => (await store.messagesAfter(TENANT, id, 0, 50)).map((m) => [m.role, m.text]),
    state: async () => {
      const c = await store.conversation(TENANT, id, 'primary');
      return { handler: c?.handler, handoff: c?.handoff };
    },
  };
}

const handoffId = () => randomUUID();

describe('a conversation changing hands, as chat stores it', () => {
  it('marks the handoff waiting while the bot keeps answering, and tells the widget', async () => {
    const c = await conversation();
    await c.say('I need a person');
    await expectEventually(() =>
      expect(requests.filter((r) => r.conversation_id === c.id)).toHaveLength(1),
    );
    await c.publish(handoffRequestedV1, { reason: 'user_request', message_seq: 1 });
    await expectEventually(async () =>
      expect(await c.state()).toEqual({ handler: 'bot', handoff: 'waiting' }),
    );
    await expectEventually(() =>
      expect(
        c.live.some(
          (u) => u.kind === 'state' && (u.state as { handoff?: string }).handoff === 'waiting',
        ),
      ).toBe(true),
    );
    // While waiting, the bot still answers: a new question asks for a reply.
    await c.say('Are you there?');
    await expectEventually(() =>
      expect(requests.filter((r) => r.conversation_id === c.id)).toHaveLength(2),
    );
  });

  it('lets an agent take over: a join message, the agent’s replies, and no more bot replies', async () => {
    const c = await conversation();
    await c.say('hello');
    const id = handoffId();
    await c.publish(handoffRequestedV1, { reason: 'user_request', message_seq: 1 });
    await c.publish(handoffAcceptedV1, { handoff_id: id, agent_id: 'amy', agent_name: 'Amy' });
    const reply = {
      message_id: randomUUID(),
      client_message_id: randomUUID(),
      agent_id: 'amy',
      agent_name: 'Amy',
      text: 'مرحبا! I’m Amy 👋',
    };
    const replied = await c.publish(agentRepliedV1, reply);
    await expectEventually(async () =>
      expect(await c.stored()).toEqual([
        ['user', 'hello'],
        ['system', 'Amy joined the conversation.'],
        ['agent', 'مرحبا! I’m Amy 👋'],
      ]),
    );
    expect(await c.state()).toEqual({ handler: 'agent', handoff: 'none' });
    // Redelivery of the same reply (same event) stores nothing new.
    await app.ports.bus.publish(replied);
    await c.say('thanks Amy');
    await expectEventually(async () => expect(await c.stored()).toHaveLength(4));
    expect(requests.filter((r) => r.conversation_id === c.id)).toHaveLength(1);
    // Live updates are at least once (the widget keeps one message per seq).
    await expectEventually(() => {
      const bySeq = new Map(
        c.live
          .filter((u) => u.kind === 'message')
          .map((u) => [(u.message as { seq: number }).seq, u.message?.role]),
      );
      expect([...bySeq].sort(([a], [b]) => a - b).map(([, role]) => role)).toEqual([
        'user',
        'system',
        'agent',
        'user',
      ]);
    });
  });

  it('sends a transferred conversation back to the queue, with the bot answering meanwhile', async () => {
    const c = await conversation();
    await c.say('hello');
    const id = handoffId();
    await c.publish(handoffAcceptedV1, { handoff_id: id, agent_id: 'amy', agent_name: 'Amy' });
    await c.publish(handoffTransferredV1, {
      handoff_id: id,
      from_agent_id: 'amy',
      to: 'queue',
      queue: 'billing',
      reason: 'no_reply',
    });
    await expectEventually(async () =>
      expect(await c.state()).toEqual({ handler: 'bot', handoff: 'waiting' }),
    );
    expect((await c.stored()).at(-1)).toEqual([
      'system',
      'You are being transferred: the next available member of our team will reply here.',
    ]);
    await c.publish(handoffTransferredV1, {
      handoff_id: id,
      from_agent_id: 'amy',
      to: 'agent',
      agent_id: 'bob',
      agent_name: 'Bob',
      reason: 'transfer',
    });
    await expectEventually(async () =>
      expect(await c.state()).toEqual({ handler: 'agent', handoff: 'none' }),
    );
    expect((await c.stored()).at(-1)).toEqual(['system', 'Bob joined the conversation.']);
  });

  it('gives a resolved conversation back to the bot with the satisfaction question, once', async () => {
    const c = await conversation();
    await c.say('hello');
    const id = handoffId();
    await c.publish(handoffAcceptedV1, { handoff_id: id, agent_id: 'amy', agent_name: 'Amy' });
    const closed = await c.publish(handoffClosedV1, {
      handoff_id: id,
      agent_id: 'amy',
      outcome: 'resolved',
    });
    await app.ports.bus.publish(closed);
    await expectEventually(async () =>
      expect((await c.stored()).slice(2)).toEqual([
        ['system', 'The agent has left the conversation. The assistant will answer from here.'],
        ['assistant', SATISFACTION_QUESTION],
      ]),
    );
    expect(await c.state()).toEqual({ handler: 'bot', handoff: 'none' });
    await c.say('5');
    await expectEventually(() =>
      expect(requests.filter((r) => r.conversation_id === c.id)).toHaveLength(2),
    );
    expect(await c.stored()).toHaveLength(5);
  });

  it('drops handoff events for a conversation it has never seen', async () => {
    const c = await conversation();
    await c.publish(handoffAcceptedV1, {
      handoff_id: handoffId(),
      agent_id: 'amy',
      agent_name: 'Amy',
    });
    await c.say('first words');
    await expectEventually(() =>
      expect(requests.filter((r) => r.conversation_id === c.id)).toHaveLength(1),
    );
    expect(await c.stored()).toEqual([['user', 'first words']]);
  });
});
