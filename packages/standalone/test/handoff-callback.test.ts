import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetClient } from '@parley/testing';
import { DEMO_AGENT, DEMO_WIDGET_KEY } from '../src/index.js';
import { agentApi, visitorAskingForHuman } from './agents.js';
import { startPlatform, type Running } from './start.js';

/** The callback queue: when no agent is online, the visitor leaves a number or an address. */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform();
  const { store, hitl } = platform.app.platform;
  await store.upsertTenant({
    id: 'other',
    name: 'Other',
    widgetKey: 'pk_other',
    allowedOrigins: [platform.origin],
  });
  await hitl.stores.agents.upsertAgent({
    tenantId: 'other',
    id: 'olga',
    email: 'olga@other.test',
    name: 'Olga',
    password: 'olga-password',
  });
});
afterAll(() => platform?.close());

const api = () => agentApi(platform);

describe('the callback queue (embedded)', () => {
  it('offers a callback when no agent is online, validates the contact, and keeps the ticket for the tenant only', async () => {
    const visitor = await visitorAskingForHuman(platform, { text: 'Can I talk to a person?' });
    await visitor.waitFor((f) => f.type === 'callback_offer');

    visitor.send({ type: 'callback', phone: '12' });
    expect(await visitor.waitFor((f) => f.type === 'error')).toMatchObject({
      code: 'GW_ERR_BAD_FRAME',
    });
    const errors = visitor.frames.filter((f) => f.type === 'error').length;
    visitor.send({ type: 'callback', phone: '+15550109999', email: 'a@b.test' });
    await visitor.waitFor(() => visitor.frames.filter((f) => f.type === 'error').length > errors);

    visitor.send({ type: 'callback', phone: '+1 (555) 010-9999', note: 'after 5 pm' });
    const saved = await visitor.waitFor((f) => f.type === 'callback_saved');
    expect(saved.ticketId).toMatch(/^CB-[0-9A-F]{8}$/);

    const dana = await api().signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const list = async (token: string) =>
      (await api().call('/v1/agent/callbacks', { token })).body.callbacks;
    expect(await list(dana)).toEqual([
      expect.objectContaining({
        id: saved.ticketId,
        contactKind: 'phone',
        contact: '+15550109999',
        note: 'after 5 pm',
        status: 'open',
        conversationId: visitor.session.conversationId,
      }),
    ]);
    const olga = await api().signIn('other', 'olga@other.test', 'olga-password');
    expect(await list(olga)).toEqual([]);
    const done = (token: string) =>
      api().call(`/v1/agent/callbacks/${saved.ticketId}/done`, { token, body: {} });
    expect((await done(olga)).status).toBe(404);
    expect((await done(dana)).body.callback).toMatchObject({
      status: 'done',
      doneBy: 'demo-agent',
    });
    visitor.close();
  });

  it('refuses a callback before the conversation has a message, and keeps no ticket for it', async () => {
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    await visitor.waitFor((f) => f.type === 'state');
    visitor.send({ type: 'callback', phone: '+1 555 010 7777' });
    const refused = await visitor.waitFor((f) => f.type === 'error');
    expect(refused).toMatchObject({ code: 'GW_ERR_NO_CONVERSATION' });
    const dana = await api().signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const { body } = await api().call('/v1/agent/callbacks', { token: dana });
    expect(
      (body.callbacks as Array<{ conversationId: string }>).filter(
        (c) => c.conversationId === visitor.session.conversationId,
      ),
    ).toEqual([]);
    // Once the visitor has written, the same request is taken.
    visitor.send({ type: 'message', clientMessageId: 'c1', text: 'hello' });
    await visitor.waitFor((f) => f.type === 'ack');
    visitor.send({ type: 'callback', phone: '+1 555 010 7777' });
    expect(await visitor.waitFor((f) => f.type === 'callback_saved')).toMatchObject({
      ticketId: expect.any(String),
    });
    visitor.close();
  });

  it('does not offer a callback while an agent is online', async () => {
    await platform.app.platform.hitl.stores.agents.touchAgent('demo', DEMO_AGENT.id);
    const visitor = await visitorAskingForHuman(platform, { text: 'Can I talk to a person?' });
    await visitor.waitFor((f) => f.type === 'queue');
    await new Promise((r) => setTimeout(r, 300));
    expect(visitor.frames.some((f) => f.type === 'callback_offer')).toBe(false);
    visitor.close();
  });
});

describe('the assistant failing repeatedly (embedded, no model keys)', () => {
  it('hands over to a person when the FAQ could not answer twice in a row', async () => {
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'q1', text: 'qwerty zxcv plugh' });
    const first = await visitor.waitFor(
      (f) => f.type === 'message' && f.clientMessageId === 'reply:1',
    );
    expect(first.text).toMatch(/do not know that yet/);
    expect(visitor.frames.some((f) => f.type === 'state' && f.handoff === 'waiting')).toBe(false);
    visitor.send({ type: 'message', clientMessageId: 'q2', text: 'xyzzy frobnicate' });
    const second = await visitor.waitFor(
      (f) => f.type === 'message' && f.clientMessageId === 'reply:3',
    );
    expect(second.text).toMatch(/asked a member of our team/);
    await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting');
    const open = await platform.app.platform.hitl.stores.handoffs.openFor(
      'demo',
      visitor.session.conversationId,
    );
    expect(open?.reason).toBe('bot_unavailable');
    visitor.close();
  });
});
