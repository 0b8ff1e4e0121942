import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import {
  EventRegistry,
  conversationChannel,
  messageReceivedV1,
  replyGeneratedV1,
  replyRequestedV1,
  type Event,
  type ReplyRequestedV1,
} from '@parley/contracts';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually } from '@parley/testing';
import { chatFields } from '../src/config.js';
import { chatModule } from '../src/module.js';

/**
 * The chat module as the service mounts it, on the embedded ports: user
 * messages and answers stored in order, reply requests with the history,
 * answers published live on the conversation's channel, its metrics.
 */
const TENANT = 'chat-module';
let app: FastifyInstance;
let store: ConversationStore;
const requests: Array<Event<ReplyRequestedV1>> = [];
const registry = new EventRegistry([messageReceivedV1, replyRequestedV1, replyGeneratedV1]);

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
    widgetKey: 'pk_chat_module',
    allowedOrigins: [],
  });
  await app.register(chatModule, { settings: loadConfig(chatFields, { CHAT_HISTORY_TURNS: '4' }) });
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
  await app?.close();
});

const said = (conversationId: string, text: string) =>
  app.ports.bus.publish(
    registry.create(messageReceivedV1, {
      conversationId,
      tenantId: TENANT,
      payload: {
        message_id: randomUUID(),
        client_message_id: randomUUID(),
        visitor_id: 'visitor-1',
        channel: 'web',
        text,
      },
    }),
  );

describe('the chat module on the embedded ports', () => {
  it('stores a user message and requests a reply for it', async () => {
    const conversationId = randomUUID();
    await said(conversationId, 'Where is my order? 📦');
    await expectEventually(() =>
      expect(requests.find((r) => r.conversation_id === conversationId)?.payload).toMatchObject({
        message_seq: 1,
        text: 'Where is my order? 📦',
        channel: 'web',
      }),
    );
    const messages = await store.messagesAfter(TENANT, conversationId, 0, 10);
    expect(messages.map((m) => [m.seq, m.role, m.text])).toEqual([
      [1, 'user', 'Where is my order? 📦'],
    ]);
  });

  it('stores the answer after the question and publishes it live on the conversation’s channel', async () => {
    const conversationId = randomUUID();
    const live: string[] = [];
    const unsubscribe = await app.ports.cache.subscribe(
      conversationChannel(TENANT, conversationId),
      (raw) => void live.push(raw),
    );
    await said(conversationId, 'hello');
    await expectEventually(() =>
      expect(requests.some((r) => r.conversation_id === conversationId)).toBe(true),
    );
    await app.ports.bus.publish(
      registry.create(replyGeneratedV1, {
        conversationId,
        tenantId: TENANT,
        payload: {
          reply_to_seq: 1,
          message_id: randomUUID(),
          text: 'Hi! How can I help?',
          provider: 'offline',
        },
      }),
    );
    await expectEventually(async () =>
      expect(
        (await store.messagesAfter(TENANT, conversationId, 0, 10)).map((m) => [m.role, m.text]),
      ).toEqual([
        ['user', 'hello'],
        ['assistant', 'Hi! How can I help?'],
      ]),
    );
    await expectEventually(() =>
      expect(live.some((raw) => raw.includes('Hi! How can I help?'))).toBe(true),
    );
    await unsubscribe();
  });

  it('counts stored messages and served conversations in its metrics, and its consumer in readiness', async () => {
    const metrics = await app.metrics.metrics();
    expect(metrics).toMatch(/^chat_messages_stored_total\{[^}]*role="user"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^active_sessions\{[^}]*\} [1-9]/m);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().checks).toMatchObject({ 'consumer:chat': { status: 'up' } });
  });
});
