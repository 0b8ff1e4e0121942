import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetClient, expectEventually } from '@parley/testing';
import { DEMO_AGENT, DEMO_WIDGET_KEY } from '../src/index.js';
import { agentApi, openHandoff, visitorAskingForHuman, type AgentApiBody } from './agents.js';
import { startPlatform, type Running } from './start.js';

let platform: Running;
beforeAll(async () => {
  platform = await startPlatform();
  const { hitl, store } = platform.app.platform;
  // A second agent of the demo tenant, and a tenant of its own with its own agent.
  await hitl.stores.agents.upsertAgent({
    tenantId: 'demo',
    id: 'sam',
    email: 'sam@parley.demo',
    name: 'Sam',
    password: 'sam-password',
  });
  await store.upsertTenant({
    id: 'other',
    name: 'Other tenant',
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

const api: ReturnType<typeof agentApi>['call'] = (path, init) =>
  agentApi(platform).call(path, init);
const signIn: ReturnType<typeof agentApi>['signIn'] = (tenantId, email, password) =>
  agentApi(platform).signIn(tenantId, email, password);

const lastState = (client: WidgetClient) => client.frames.filter((f) => f.type === 'state').at(-1);

describe('a human agent taking over a conversation (embedded)', () => {
  it('queues the handoff when the user asks for a person, lets exactly one agent accept, and mutes the bot until the agent closes', async () => {
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'm1', text: 'I want to talk to a human' });
    await visitor.waitFor((f) => f.type === 'message' && f.clientMessageId === 'reply:1');
    await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting');
    // The visitor learns their place in the queue (no wait history yet: no estimate).
    expect(await visitor.waitFor((f) => f.type === 'queue')).toMatchObject({
      position: 1,
      estimatedWaitSeconds: null,
    });
    const conversationId = visitor.session.conversationId;

    const dana = await signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const sam = await signIn('demo', 'SAM@parley.demo', 'sam-password');
    let queued: NonNullable<AgentApiBody['queued']> = [];
    await expectEventually(async () => {
      queued = (await api('/v1/agent/queue', { token: dana })).body.queued!.filter(
        (h) => h.conversationId === conversationId,
      );
      expect(queued).toEqual([
        expect.objectContaining({ reason: 'user_request', status: 'queued', position: 1 }),
      ]);
    });
    const handoffId = queued[0]!.id;

    // Two agents accept at the same moment: exactly one wins.
    const race = await Promise.all([
      api(`/v1/agent/handoffs/${handoffId}/accept`, { method: 'POST', token: dana, body: {} }),
      api(`/v1/agent/handoffs/${handoffId}/accept`, { method: 'POST', token: sam, body: {} }),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = race.find((r) => r.status === 409)!;
    expect(loser.body.code).toBe('HITL_ERR_TAKEN');
    const winner = race[0]!.status === 200 ? dana : sam;
    const winnerName = winner === dana ? 'Dana' : 'Sam';
    await visitor.waitFor((f) => f.type === 'state' && f.handler === 'agent');
    await visitor.waitFor((f) => f.type === 'message' && f.role === 'system');
    expect(visitor.frames.find((f) => f.type === 'message' && f.role === 'system')!.text).toBe(
      `${winnerName} joined the conversation.`,
    );

    // The agent sees the whole transcript, the bot's part and the reason included.
    const read = await api(`/v1/agent/conversations/${conversationId}`, { token: winner });
    expect(read.status).toBe(200);
    expect(read.body.handoff).toMatchObject({ reason: 'user_request', status: 'assigned' });
    expect(read.body.messages!.map((m) => m.role)).toEqual(['user', 'assistant', 'system']);

    // Agent → widget, at once.
    const sent = await api(`/v1/agent/conversations/${conversationId}/messages`, {
      token: winner,
      body: { clientMessageId: 'a1', text: 'Hi, I am here to help.' },
    });
    expect(sent.status).toBe(202);
    await visitor.waitFor((f) => f.type === 'message' && f.role === 'agent');
    // The other agent cannot speak in a conversation it does not hold.
    const intruder = await api(`/v1/agent/conversations/${conversationId}/messages`, {
      token: winner === dana ? sam : dana,
      body: { clientMessageId: 'x', text: 'me too' },
    });
    expect(intruder).toMatchObject({ status: 409, body: { code: 'HITL_ERR_NOT_YOURS' } });

    // The visitor writes; the bot stays quiet while the agent holds the conversation.
    visitor.send({ type: 'message', clientMessageId: 'm2', text: 'What are your opening hours?' });
    await visitor.waitFor((f) => f.type === 'ack' && f.clientMessageId === 'm2');
    await new Promise((r) => setTimeout(r, 500));
    expect(
      visitor.frames.some(
        (f) => f.type === 'message' && f.role === 'assistant' && Number(f.seq) > 4,
      ),
    ).toBe(false);

    // Close: the bot answers again.
    const beforeClose = visitor.frames.length;
    const closed = await api(`/v1/agent/handoffs/${handoffId}/close`, {
      method: 'POST',
      token: winner,
      body: {},
    });
    expect(closed.status).toBe(200);
    await visitor.waitFor((f) => f.type === 'state' && f.handler === 'bot', { from: beforeClose });
    expect(lastState(visitor)).toMatchObject({ handler: 'bot', handoff: 'none' });
    expect(visitor.frames.slice(beforeClose).find((f) => f.role === 'system')?.text).toMatch(
      /left the conversation/,
    );
    // After close the assistant answers: the agent's reply would leave the visitor alone.
    const late = await api(`/v1/agent/conversations/${conversationId}/messages`, {
      token: winner,
      body: { clientMessageId: 'a-late', text: 'one more thing' },
    });
    expect(late).toMatchObject({ status: 409, body: { code: 'HITL_ERR_NO_HANDOFF' } });
    visitor.send({ type: 'message', clientMessageId: 'm3', text: 'What are your opening hours?' });
    const answer = await visitor.waitFor(
      (f) => f.type === 'message' && f.role === 'assistant' && f.clientMessageId !== 'reply:1',
    );
    expect(answer.text).toMatch(/Monday to Friday/);
    visitor.close();
  });

  it("follows the tenant's rules: its keywords hand over at once, and the assistant asks for a rating after close", async () => {
    const { store, hitl } = platform.app.platform;
    await store.upsertTenant({
      id: 'rules',
      name: 'Tenant with rules',
      widgetKey: 'pk_rules',
      allowedOrigins: [platform.origin],
      aiSettings: { handoff_keywords: ['Cancel my contract'], satisfaction_question: true },
    });
    await hitl.stores.agents.upsertAgent({
      tenantId: 'rules',
      id: 'rita',
      email: 'rita@rules.test',
      name: 'Rita',
      password: 'rita-password',
    });
    const visitor = await visitorAskingForHuman(platform, {
      widgetKey: 'pk_rules',
      text: 'please cancel my contract today',
    });
    const conversationId = visitor.session.conversationId;
    const rita = await signIn('rules', 'rita@rules.test', 'rita-password');
    const handoff = await openHandoff(platform, 'rules', conversationId);
    expect(handoff.reason).toBe('tenant_rule');
    const read = await api(`/v1/agent/conversations/${conversationId}`, { token: rita });
    expect(read.body.summary).toMatch(
      /Handed over because one of the tenant's handoff rules matched\. 1 message from the visitor, 2 in all\. First: “please cancel my contract today”/,
    );
    await api(`/v1/agent/handoffs/${handoff.id}/accept`, {
      method: 'POST',
      token: rita,
      body: {},
    });
    await api(`/v1/agent/handoffs/${handoff.id}/close`, { method: 'POST', token: rita, body: {} });
    const survey = await visitor.waitFor(
      (f) => f.type === 'message' && f.role === 'assistant' && /rate the help/.test(String(f.text)),
    );
    expect(survey.clientMessageId).toBe(`handoff:${handoff.id}:survey`);
    visitor.close();
  });

  it("keeps every agent to their own tenant's queue and conversations", async () => {
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'h', text: 'agent please' });
    await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting');
    // By now the tenant has a wait history (the first test's accept): an estimate comes with the position.
    const queued = await visitor.waitFor((f) => f.type === 'queue');
    expect(queued.position).toBe(1);
    expect(typeof queued.estimatedWaitSeconds).toBe('number');
    const conversationId = visitor.session.conversationId;
    const { handoffs } = platform.app.platform.hitl.stores;
    const open = await handoffs.openFor('demo', conversationId);
    expect(open?.status).toBe('queued');

    const olga = await signIn('other', 'olga@other.test', 'olga-password');
    const queue = await api('/v1/agent/queue', { token: olga });
    expect(queue.body.queued).toEqual([]);
    expect((await api(`/v1/agent/conversations/${conversationId}`, { token: olga })).status).toBe(
      404,
    );
    expect(
      (
        await api(`/v1/agent/handoffs/${open!.id}/accept`, {
          method: 'POST',
          token: olga,
          body: {},
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await api(`/v1/agent/conversations/${conversationId}/messages`, {
          token: olga,
          body: { clientMessageId: 'o', text: 'hello from another tenant' },
        })
      ).status,
    ).toBe(404);
    visitor.close();
  });

  it('refuses an agent reply where no handoff was ever asked for, and the assistant keeps answering', async () => {
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'q1', text: 'What are your opening hours?' });
    await visitor.waitFor((f) => f.type === 'message' && f.clientMessageId === 'reply:1');
    const conversationId = visitor.session.conversationId;
    const dana = await signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const nul = await api(`/v1/agent/conversations/${conversationId}/messages`, {
      token: dana,
      body: { clientMessageId: 'n', text: 'nul\u0000here' },
    });
    expect(nul).toMatchObject({ status: 400, body: { code: 'HITL_ERR_INVALID' } });
    const unasked = await api(`/v1/agent/conversations/${conversationId}/messages`, {
      token: dana,
      body: { clientMessageId: 'u', text: 'Hello, can I help?' },
    });
    expect(unasked).toMatchObject({ status: 409, body: { code: 'HITL_ERR_NO_HANDOFF' } });
    const read = await api(`/v1/agent/conversations/${conversationId}`, { token: dana });
    expect(read.body.conversation).toMatchObject({ handler: 'bot', handoff: 'none' });
    visitor.send({ type: 'message', clientMessageId: 'q2', text: 'What are your opening hours?' });
    await visitor.waitFor((f) => f.type === 'message' && f.clientMessageId === 'reply:3');
    expect(visitor.frames.some((f) => f.type === 'message' && f.role === 'agent')).toBe(false);
    visitor.close();
  });

  it('refuses wrong passwords, missing or forged tokens, and malformed bodies with coded errors', async () => {
    const wrong = await api('/v1/agent/sessions', {
      body: { tenantId: 'demo', email: DEMO_AGENT.email, password: 'nope' },
    });
    expect(wrong).toMatchObject({ status: 401, body: { code: 'HITL_ERR_BAD_CREDENTIALS' } });
    const unknown = await api('/v1/agent/sessions', {
      body: { tenantId: 'demo', email: 'nobody@parley.demo', password: 'whatever' },
    });
    expect(unknown.status).toBe(401);
    expect((await api('/v1/agent/queue')).body.code).toBe('HITL_ERR_UNAUTHORIZED');
    expect((await api('/v1/agent/queue', { token: 'eyJhbGciOiJub25lIn0.e30.' })).status).toBe(401);
    const token = await signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const blank = await api('/v1/agent/conversations/c/messages', {
      token,
      body: { clientMessageId: 'b', text: '   ' },
    });
    expect(blank).toMatchObject({ status: 400, body: { code: 'HITL_ERR_INVALID' } });
    const extra = await api('/v1/agent/sessions', {
      body: { tenantId: 'demo', email: DEMO_AGENT.email, password: 'x', admin: true },
    });
    expect(extra.status).toBe(400);
    // Fastify's own refusal, in the agent API's catalogue though the embedded root is the gateway's.
    const malformed = await fetch(`${platform.baseUrl}/v1/agent/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect([malformed.status, ((await malformed.json()) as { code: string }).code]).toEqual([
      400,
      'HITL_ERR_BAD_REQUEST',
    ]);
  });
});
