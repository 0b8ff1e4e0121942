import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import {
  EventRegistry,
  conversationEndedV1,
  handoffAcceptedV1,
  handoffClosedV1,
  handoffRequestedV1,
  type Event,
  type HandoffAcceptedV1,
  type HandoffClosedV1,
} from '@parley/contracts';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { eventually, expectEventually } from '@parley/testing';
import { hitlFields } from '../src/config.js';
import { HitlErrors } from '../src/errors.js';
import { hitlModule } from '../src/module.js';

/**
 * The hitl module as the service mounts it, on the embedded ports: a
 * requested handoff joins the queue, an agent signs in, sees it and accepts
 * it, and the acceptance goes out on the bus; the queue metric counts it.
 */
const TENANT = 'hitl-module';
const ADMIN = 'operator-token-0123456789abcdef';
let app: FastifyInstance;
let conversations: ConversationStore;
const accepted: Array<Event<HandoffAcceptedV1>> = [];
const closed: Array<Event<HandoffClosedV1>> = [];
const registry = new EventRegistry([
  handoffRequestedV1,
  handoffAcceptedV1,
  handoffClosedV1,
  conversationEndedV1,
]);

beforeAll(async () => {
  app = createApp({
    service: 'hitl',
    logger: createLogger({ service: 'hitl', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'hitl', processMetrics: false }),
  });
  // As in the embedded mode, where the gateway names the root's catalogue.
  app.errorPrefix = 'GW';
  await app.register(embeddedPorts, {});
  await migrate(app.ports.db);
  conversations = new ConversationStore(app.ports.db);
  await conversations.upsertTenant({
    id: TENANT,
    name: TENANT,
    widgetKey: 'pk_hitl_module',
    allowedOrigins: [],
  });
  const settings = loadConfig(hitlFields, {
    PARLEY_AGENT_SECRET: 'hitl-module-agent-secret-0123456789abc',
    PARLEY_ADMIN_TOKEN: ADMIN,
  });
  await app.register(hitlModule, { settings });
  const listener = app.ports.bus.subscribe({
    groupId: 'test',
    registry,
    fromBeginning: true,
    handler: async (event) => {
      if (event.type === handoffAcceptedV1.type) accepted.push(event as Event<HandoffAcceptedV1>);
      if (event.type === handoffClosedV1.type) closed.push(event as Event<HandoffClosedV1>);
    },
  });
  app.addHook('onClose', () => listener.stop());
  await app.ready();
  await listener.start();
  await app.hitl.stores.agents.upsertAgent({
    tenantId: TENANT,
    id: 'ana',
    email: 'ana@hitl-module.test',
    name: 'Ana',
    password: 'ana-password-1',
  });
});
afterAll(async () => {
  await app?.close();
});

async function signIn(): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/agent/sessions',
    payload: { tenantId: TENANT, email: 'ana@hitl-module.test', password: 'ana-password-1' },
  });
  expect(res.statusCode).toBe(201);
  return res.json().token as string;
}

describe('the hitl module on the embedded ports', () => {
  it('queues a requested handoff, and an agent accepts it with the acceptance on the bus', async () => {
    const conversationId = randomUUID();
    await conversations.appendMessage({
      tenantId: TENANT,
      conversationId,
      visitorId: 'visitor-1',
      channel: 'web',
      role: 'user',
      messageId: randomUUID(),
      clientMessageId: 'c1',
      eventId: randomUUID(),
      text: 'I want a person',
      receivedAt: new Date(),
    });
    await app.ports.bus.publish(
      registry.create(handoffRequestedV1, {
        conversationId,
        tenantId: TENANT,
        payload: { reason: 'user_request', message_seq: 1 },
      }),
    );
    const token = await signIn();
    const auth = { authorization: `Bearer ${token}` };
    const queued = await eventually(
      async () => {
        const res = await app.inject({ method: 'GET', url: '/v1/agent/queue', headers: auth });
        return (res.json().queued as Array<{ id: string; conversationId: string }>).find(
          (h) => h.conversationId === conversationId,
        );
      },
      { timeoutMs: 10_000, what: 'the handoff in the queue' },
    );
    expect(await app.metrics.metrics()).toMatch(
      /^hitl_queue_size\{[^}]*queue="general"[^}]*\} 1$/m,
    );
    const accept = await app.inject({
      method: 'POST',
      url: `/v1/agent/handoffs/${queued.id}/accept`,
      headers: auth,
    });
    expect(accept.statusCode).toBe(200);
    await expectEventually(() =>
      expect(accepted.find((e) => e.conversation_id === conversationId)?.payload).toMatchObject({
        agent_id: 'ana',
      }),
    );
  });

  it('ends a handoff with its call, waiting or held, and queues none asked for after the end', async () => {
    const token = await signIn();
    const auth = { authorization: `Bearer ${token}` };
    const queueOf = async () =>
      (
        (await app.inject({ method: 'GET', url: '/v1/agent/queue', headers: auth })).json()
          .queued as Array<{ id: string; conversationId: string }>
      ).map((h) => h.conversationId);
    const phoneCall = async (text: string) => {
      const conversationId = randomUUID();
      await conversations.appendMessage({
        tenantId: TENANT,
        conversationId,
        visitorId: 'phone:caller',
        channel: 'voice',
        role: 'user',
        messageId: randomUUID(),
        clientMessageId: randomUUID(),
        eventId: randomUUID(),
        text,
        receivedAt: new Date(),
      });
      return conversationId;
    };
    const request = (conversationId: string) =>
      app.ports.bus.publish(
        registry.create(handoffRequestedV1, {
          conversationId,
          tenantId: TENANT,
          payload: { reason: 'user_request', message_seq: 1 },
        }),
      );
    const end = (conversationId: string) =>
      app.ports.bus.publish(
        registry.create(conversationEndedV1, {
          conversationId,
          tenantId: TENANT,
          payload: { channel: 'voice', reason: 'call_ended' },
        }),
      );

    // Waiting in the queue when the caller hangs up (a callback was booked, or not).
    const waiting = await phoneCall('I would like to talk to an agent (pressed 0).');
    await request(waiting);
    await expectEventually(async () => expect(await queueOf()).toContain(waiting));
    await end(waiting);
    await expectEventually(async () => expect(await queueOf()).not.toContain(waiting));
    await expectEventually(() =>
      expect(closed.find((e) => e.conversation_id === waiting)?.payload).toMatchObject({
        outcome: 'returned',
      }),
    );

    // Held by an agent when the caller hangs up.
    const held = await phoneCall('A person, please.');
    await request(held);
    const id = await eventually(
      async () => {
        const res = await app.inject({ method: 'GET', url: '/v1/agent/queue', headers: auth });
        return (res.json().queued as Array<{ id: string; conversationId: string }>).find(
          (h) => h.conversationId === held,
        )?.id;
      },
      { timeoutMs: 10_000, what: 'the held call in the queue' },
    );
    const accept = await app.inject({
      method: 'POST',
      url: `/v1/agent/handoffs/${id}/accept`,
      headers: auth,
    });
    expect(accept.statusCode).toBe(200);
    await end(held);
    await expectEventually(() =>
      expect(closed.find((e) => e.conversation_id === held)?.payload).toEqual({
        handoff_id: id,
        agent_id: 'ana',
        outcome: 'resolved',
      }),
    );
    expect((await app.hitl.stores.handoffs.handoff(TENANT, id))?.status).toBe('closed');

    // Asked for as the caller hung up: the end came first, so nothing is queued.
    const gone = await phoneCall('Agent!');
    await end(gone);
    await request(gone);
    const marker = await phoneCall('After the end, a later call.');
    await request(marker);
    await expectEventually(async () => expect(await queueOf()).toContain(marker));
    expect(await queueOf()).not.toContain(gone);
    expect(await app.hitl.stores.handoffs.openFor(TENANT, gone)).toBeNull();
  });

  it('refuses the agents’ API without a token, and a wrong password, with its codes', async () => {
    const queue = await app.inject({ method: 'GET', url: '/v1/agent/queue' });
    expect(queue.statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/agent/sessions',
      payload: { tenantId: TENANT, email: 'ana@hitl-module.test', password: 'not-her-password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toMatch(/^HITL_ERR_/);
  });

  it('answers fastify’s refusals on its routes as HITL_ERR_*, though the root’s prefix is GW', async () => {
    const json = { 'content-type': 'application/json' };
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/agent/sessions',
      headers: json,
      payload: '{not json',
    });
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'HITL_ERR_BAD_REQUEST']);
    const auth = { authorization: `Bearer ${await signIn()}` };
    const reply = await app.inject({
      method: 'POST',
      url: `/v1/agent/conversations/${randomUUID()}/messages`,
      headers: { ...json, ...auth },
      payload: '{"text":',
    });
    expect([reply.statusCode, reply.json().code]).toEqual([400, 'HITL_ERR_BAD_REQUEST']);
    const huge = await app.inject({
      method: 'PUT',
      url: `/admin/tenants/${TENANT}/hitl-settings`,
      headers: { ...json, authorization: `Bearer ${ADMIN}` },
      payload: JSON.stringify({ pad: 'x'.repeat(1_100_000) }),
    });
    expect([huge.statusCode, huge.json().code]).toEqual([413, 'HITL_ERR_PAYLOAD_TOO_LARGE']);
    for (const res of [malformed, reply, huge])
      expect(HitlErrors[res.json().code as keyof typeof HitlErrors]).toBe(res.statusCode);
    // A path no module owns is the root's.
    const missing = await app.inject({ method: 'GET', url: '/v1/agent/nowhere' });
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'GW_ERR_NOT_FOUND']);
  });

  it('reports its consumer in readiness', async () => {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().checks).toMatchObject({ 'consumer:hitl': { status: 'up' } });
  });
});
