import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventRegistry,
  replyRequestedV1,
  type Event,
  type ReplyRequestedV1,
} from '@parley/contracts';
import { WidgetClient, createSession, expectEventually, openSocket } from '@parley/testing';
import { WidgetTokens } from '../src/protocol.js';
import { DEMO_WIDGET_KEY, SESSION_SECRET, startPlatform, type Running } from './platform.js';

let platform: Running;
const clients: WidgetClient[] = [];
beforeAll(async () => {
  platform = await startPlatform({ WS_MAX_PAYLOAD_BYTES: '1024' });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await platform.close();
});

async function connect(extra: Partial<Parameters<typeof WidgetClient.connect>[1]> = {}) {
  const client = await WidgetClient.connect(platform.baseUrl, {
    widgetKey: DEMO_WIDGET_KEY,
    origin: platform.origin,
    ...extra,
  });
  clients.push(client);
  return client;
}

describe('chatting through the embedded platform', () => {
  it('acknowledges a message with its sequence number and answers it from the FAQ', async () => {
    const client = await connect();
    client.send({ type: 'resume', afterSeq: 0 });
    const state = await client.waitFor((f) => f.type === 'state');
    expect(state).toMatchObject({ status: 'open', handler: 'bot', handoff: 'none', lastSeq: 0 });
    client.send({ type: 'message', clientMessageId: 'm-1', text: 'What are your opening hours?' });
    expect(await client.waitFor((f) => f.type === 'ack')).toEqual({
      type: 'ack',
      clientMessageId: 'm-1',
      seq: 1,
    });
    const reply = await client.waitFor((f) => f.type === 'message' && f.role === 'assistant');
    expect(reply).toMatchObject({ seq: 2, clientMessageId: 'reply:1' });
    expect(reply.text).toMatch(/Monday to Friday/);
  });

  it('answers an emergency at once with a ticket and the tenant emergency contact', async () => {
    const client = await connect();
    client.send({ type: 'resume', afterSeq: 0 });
    client.send({
      type: 'message',
      clientMessageId: 'sos',
      text: 'EMERGENCY: our website is down!!!',
    });
    const reply = await client.waitFor((f) => f.type === 'message' && f.role === 'assistant');
    expect(reply.text).toMatch(/EMG-\d{8}-[2-9A-Z]{6}/);
    expect(reply.text).toContain('+1 555 0100');
  });

  it("sends the tenant's own AI settings with each reply request", async () => {
    const { store, broker } = platform;
    await store.upsertTenant({
      id: 'tenant-ai',
      name: 'Tenant with AI settings',
      widgetKey: 'pk_tenant_ai',
      allowedOrigins: [platform.origin],
      aiSettings: { daily_token_budget: 100, tools: false },
    });
    const requested: Array<Event<ReplyRequestedV1>> = [];
    const listener = broker.bus().subscribe({
      groupId: 'test-ai-settings',
      registry: new EventRegistry([replyRequestedV1]),
      fromBeginning: true,
      handler: async (e) => void requested.push(e as Event<ReplyRequestedV1>),
    });
    await listener.start();
    try {
      const client = await connect({ widgetKey: 'pk_tenant_ai' });
      client.send({ type: 'resume', afterSeq: 0 });
      client.send({ type: 'message', clientMessageId: 'q', text: 'hello' });
      await client.waitFor((f) => f.type === 'message' && f.role === 'assistant');
      const mine = requested.filter((e) => e.tenant_id === 'tenant-ai');
      expect(mine).toHaveLength(1);
      expect(mine[0]!.payload.ai_settings).toEqual({ daily_token_budget: 100, tools: false });
      expect(
        requested.filter((e) => e.tenant_id === 'demo').every((e) => !e.payload.ai_settings),
      ).toBe(true);
    } finally {
      await listener.stop();
    }
  });

  it('stores a resent message once and answers it once', async () => {
    const client = await connect();
    client.send({ type: 'resume', afterSeq: 0 });
    for (let i = 0; i < 3; i++)
      client.send({ type: 'message', clientMessageId: 'same', text: 'How do I get a refund?' });
    await client.waitFor((f) => f.type === 'message' && f.role === 'assistant');
    client.send({ type: 'message', clientMessageId: 'later', text: 'thanks' });
    await client.waitFor((f) => f.type === 'message' && f.seq === 4);
    const stored = await platform.store.messagesAfter(
      'demo',
      client.session.conversationId,
      0,
      100,
      'primary',
    );
    expect(stored.map((m) => [m.seq, m.role, m.clientMessageId])).toEqual([
      [1, 'user', 'same'],
      [2, 'assistant', 'reply:1'],
      [3, 'user', 'later'],
      [4, 'assistant', 'reply:3'],
    ]);
  });

  it('replays what a reconnecting client missed, after the conversation state', async () => {
    const first = await connect();
    first.send({ type: 'resume', afterSeq: 0 });
    first.send({ type: 'message', clientMessageId: 'a', text: 'hello' });
    await first.waitFor((f) => f.type === 'message' && f.seq === 2);
    first.ws.terminate();

    const again = await connect({
      visitorToken: first.session.visitorToken,
      conversationId: first.session.conversationId,
    });
    expect(again.session.conversationId).toBe(first.session.conversationId);
    again.send({ type: 'resume', afterSeq: 1 });
    await again.waitFor((f) => f.type === 'message' && f.seq === 2);
    expect(again.frames.map((f) => [f.type, f.seq ?? f.lastSeq])).toEqual([
      ['state', 2],
      ['message', 2],
    ]);
  });

  it('delivers replies to every socket of the conversation, each message once', async () => {
    const one = await connect();
    const two = await connect({
      visitorToken: one.session.visitorToken,
      conversationId: one.session.conversationId,
    });
    for (const c of [one, two]) c.send({ type: 'resume', afterSeq: 0 });
    await two.waitFor((f) => f.type === 'state');
    one.send({ type: 'message', clientMessageId: 'x', text: 'pricing' });
    for (const c of [one, two]) {
      await c.waitFor((f) => f.type === 'message' && f.seq === 2);
      expect(c.messages().map((m) => m.seq)).toEqual([1, 2]);
    }
    expect(two.frames.some((f) => f.type === 'ack')).toBe(false);
  });
});

describe('bad input at the gateway', () => {
  it('refuses session requests with coded errors', async () => {
    const { baseUrl, origin } = platform;
    const cases: Array<[Record<string, unknown>, string | undefined, number, string]> = [
      [{ widgetKey: DEMO_WIDGET_KEY }, undefined, 403, 'GW_ERR_ORIGIN_REQUIRED'],
      [{ widgetKey: DEMO_WIDGET_KEY }, 'https://evil.example', 403, 'GW_ERR_ORIGIN_FORBIDDEN'],
      [{ widgetKey: 'pk_nope' }, origin, 401, 'GW_ERR_UNKNOWN_WIDGET_KEY'],
      [{ widgetKey: DEMO_WIDGET_KEY, extra: 1 }, origin, 400, 'GW_ERR_BAD_REQUEST'],
      [{ widgetKey: '' }, origin, 400, 'GW_ERR_BAD_REQUEST'],
      [
        { widgetKey: DEMO_WIDGET_KEY, visitorToken: 'forged.token.here' },
        origin,
        401,
        'GW_ERR_VISITOR_TOKEN_INVALID',
      ],
      [
        { widgetKey: DEMO_WIDGET_KEY, conversationId: 'bad id!' },
        origin,
        400,
        'GW_ERR_BAD_REQUEST',
      ],
    ];
    for (const [body, from, status, code] of cases) {
      const res = await createSession(baseUrl, body, from);
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([status, code]);
    }
  });

  it("refuses to continue another visitor's conversation", async () => {
    const owner = await connect();
    owner.send({ type: 'resume', afterSeq: 0 });
    owner.send({ type: 'message', clientMessageId: 'o', text: 'hi' });
    await owner.waitFor((f) => f.type === 'ack');
    const stranger = await createSession(
      platform.baseUrl,
      { widgetKey: DEMO_WIDGET_KEY },
      platform.origin,
    );
    const res = await createSession(
      platform.baseUrl,
      {
        widgetKey: DEMO_WIDGET_KEY,
        visitorToken: stranger.body.visitorToken,
        conversationId: owner.session.conversationId,
      },
      platform.origin,
    );
    expect([res.status, res.body.code]).toEqual([403, 'GW_ERR_CONVERSATION_FORBIDDEN']);
  });

  it('continues only a conversation id issued to the visitor: any other starts a new conversation', async () => {
    const { baseUrl, origin } = platform;
    const a = await createSession(baseUrl, { widgetKey: DEMO_WIDGET_KEY }, origin);
    const issued = a.body.conversationId!;
    // A returns before their first message: the same, still empty, conversation.
    const again = await createSession(
      baseUrl,
      { widgetKey: DEMO_WIDGET_KEY, visitorToken: a.body.visitorToken, conversationId: issued },
      origin,
    );
    expect([again.status, again.body.conversationId]).toEqual([201, issued]);
    // Someone else asks for A's unused id, or makes one up: a conversation of their own.
    const b = await createSession(baseUrl, { widgetKey: DEMO_WIDGET_KEY }, origin);
    const sessionsOfB = [];
    for (const conversationId of [
      issued,
      'chosen-by-visitor',
      '6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f5a',
    ]) {
      const res = await createSession(
        baseUrl,
        { widgetKey: DEMO_WIDGET_KEY, visitorToken: b.body.visitorToken, conversationId },
        origin,
      );
      expect(res.status).toBe(201);
      expect(res.body.conversationId, conversationId).not.toBe(conversationId);
      sessionsOfB.push(res.body);
    }
    // What A then writes reaches none of B's sockets.
    const owner = await connect({ visitorToken: a.body.visitorToken, conversationId: issued });
    expect(owner.session.conversationId).toBe(issued);
    const frames: Array<Record<string, unknown>> = [];
    const sockets = await Promise.all(
      sessionsOfB.map((body) => openSocket(baseUrl, '/v1/widget/ws', body.sessionToken!, origin)),
    );
    for (const ws of sockets) {
      ws.on('message', (data: Buffer) =>
        frames.push(JSON.parse(data.toString()) as Record<string, unknown>),
      );
      ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
    }
    owner.send({ type: 'resume', afterSeq: 0 });
    owner.send({ type: 'message', clientMessageId: 'a-1', text: 'my private question' });
    await owner.waitFor((f) => f.type === 'message' && f.role === 'assistant');
    for (const ws of sockets) ws.close();
    expect(frames.filter((f) => f.type === 'state')).toHaveLength(3);
    expect(frames.filter((f) => f.type !== 'state')).toEqual([]);
  });

  it("refuses a socket whose session names another visitor's conversation when it resumes", async () => {
    const owner = await connect();
    owner.send({ type: 'resume', afterSeq: 0 });
    owner.send({ type: 'message', clientMessageId: 'mine', text: 'only for me' });
    await owner.waitFor((f) => f.type === 'ack');
    // A session token for the owner's conversation but another visitor, as one issued
    // before the owner's first message by a gateway that did not bind ids would be.
    const tokens = new WidgetTokens(SESSION_SECRET, 900, 86_400);
    const { token } = await tokens.issueSession({
      tenantId: 'demo',
      visitorId: 'intruder',
      conversationId: owner.session.conversationId,
      origin: platform.origin,
    });
    const ws = await openSocket(platform.baseUrl, '/v1/widget/ws', token, platform.origin);
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (data: Buffer) =>
      frames.push(JSON.parse(data.toString()) as Record<string, unknown>),
    );
    const closed = new Promise<number>((resolve) =>
      ws.on('close', (code: number) => resolve(code)),
    );
    ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
    expect(await closed).toBe(1008);
    expect(frames).toEqual([
      {
        type: 'error',
        code: 'GW_ERR_CONVERSATION_FORBIDDEN',
        message: 'this conversation belongs to someone else',
      },
    ]);
  });

  it('refuses sockets without a valid token, from another origin, or beyond the per-visitor limit', async () => {
    const { baseUrl, origin } = platform;
    const session = await createSession(baseUrl, { widgetKey: DEMO_WIDGET_KEY }, origin);
    const token = session.body.sessionToken!;
    const path = '/v1/widget/ws';
    await expect(openSocket(baseUrl, path, undefined, origin)).rejects.toThrow(
      /refused 401 .*GW_ERR_SESSION_TOKEN_INVALID/,
    );
    await expect(openSocket(baseUrl, path, `${token}x`, origin)).rejects.toThrow(/refused 401/);
    await expect(openSocket(baseUrl, path, token, 'https://evil.example')).rejects.toThrow(
      /refused 403 .*GW_ERR_ORIGIN_FORBIDDEN/,
    );
    await expect(openSocket(baseUrl, '/elsewhere', token, origin)).rejects.toThrow(/refused 404/);
    const open = await Promise.all(
      Array.from({ length: 5 }, () => openSocket(baseUrl, path, token, origin)),
    );
    await expect(openSocket(baseUrl, path, token, origin)).rejects.toThrow(
      /refused 429 .*GW_ERR_TOO_MANY_CONNECTIONS/,
    );
    open[0]!.close();
    await expectEventually(async () => {
      const ws = await openSocket(baseUrl, path, token, origin);
      open.push(ws);
    });
    for (const ws of open) ws.close();
  });

  it('answers malformed frames with error frames and keeps the connection and its neighbours', async () => {
    const bad = await connect();
    const neighbour = await connect();
    neighbour.send({ type: 'resume', afterSeq: 0 });
    bad.send({ type: 'message', clientMessageId: 'early', text: 'before resume' });
    bad.ws.send('not json');
    bad.send({ type: 'launch-missiles' });
    bad.send({ type: 'resume', afterSeq: -1 });
    bad.send({ type: 'resume', afterSeq: 0, extra: true });
    bad.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await expectEventually(() =>
      expect(bad.frames.filter((f) => f.type === 'error')).toHaveLength(6),
    );
    expect(bad.frames.map((f) => f.code)).toEqual([
      'GW_ERR_NOT_RESUMED',
      'GW_ERR_BAD_FRAME',
      'GW_ERR_BAD_FRAME',
      'GW_ERR_BAD_FRAME',
      'GW_ERR_BAD_FRAME',
      'GW_ERR_BAD_FRAME',
    ]);
    bad.send({ type: 'resume', afterSeq: 0 });
    bad.send({ type: 'message', clientMessageId: 'blank', text: '   ' });
    bad.send({ type: 'ping' });
    await bad.waitFor((f) => f.type === 'pong');
    expect(bad.frames.filter((f) => f.type === 'error').at(-1)?.message).toMatch(/blank/);
    neighbour.send({ type: 'message', clientMessageId: 'n', text: 'hi' });
    await neighbour.waitFor((f) => f.type === 'message' && f.role === 'assistant');
  });

  it('refuses a message with a NUL character at once, naming it, and stores emoji and right-to-left text as sent', async () => {
    const client = await connect();
    client.send({ type: 'resume', afterSeq: 0 });
    await client.waitFor((f) => f.type === 'state');
    client.send({ type: 'message', clientMessageId: 'nul', text: 'before\u0000after' });
    const refused = await client.waitFor((f) => f.type === 'error');
    expect(refused).toMatchObject({ code: 'GW_ERR_BAD_FRAME', clientMessageId: 'nul' });
    expect(refused.message).toMatch(/NUL/);
    const texts = ['👋🏽 hello', 'مرحبا، أين طلبي؟', 'שלום\u200f עולם', 'a\u0001b\u2028c'];
    for (const [i, text] of texts.entries())
      client.send({ type: 'message', clientMessageId: `odd-${i}`, text });
    await expectEventually(() =>
      expect(client.frames.filter((f) => f.type === 'ack')).toHaveLength(texts.length),
    );
    // Nothing of the refused message was stored; the others come back exactly as sent.
    const replay = await connect({
      visitorToken: client.session.visitorToken,
      conversationId: client.session.conversationId,
    });
    replay.send({ type: 'resume', afterSeq: 0 });
    await expectEventually(() =>
      expect(
        replay.frames.filter((f) => f.type === 'message' && f.role === 'user').map((f) => f.text),
      ).toEqual(texts),
    );
  });

  it('closes a socket that sends a frame over the size limit with 1009', async () => {
    const client = await connect();
    client.send({ type: 'message', clientMessageId: 'big', text: 'x'.repeat(2_000) });
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('rate-limits a connection that floods, saying when to retry', async () => {
    const client = await connect();
    client.send({ type: 'resume', afterSeq: 0 });
    for (let i = 0; i < 30; i++)
      client.send({ type: 'message', clientMessageId: `f${i}`, text: 'hi' });
    const limited = await client.waitFor((f) => f.code === 'GW_ERR_RATE_LIMITED');
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.clientMessageId).toMatch(/^f\d+$/);
  });

  it('counts open sockets in gateway_open_sockets and served conversations in active_sessions', async () => {
    const before = platform.app.gateway.sockets;
    const client = await connect();
    const metrics = await (await fetch(`${platform.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^gateway_open_sockets\\{[^}]*\\} ${before + 1}$`, 'm'));
    // Chat's metric (the chat HPA's) comes from the same module as in the service.
    expect(metrics).toMatch(/^active_sessions\{[^}]*\} [1-9]\d*$/m);
    client.close();
  });
});

describe('restarts of the embedded platform', () => {
  it('answers, after a restart, a message stored just before the process died', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-restart-'));
    try {
      const before = await startPlatform({ PARLEY_DATA_DIR: dataDir });
      const client = await WidgetClient.connect(before.baseUrl, {
        widgetKey: DEMO_WIDGET_KEY,
        origin: before.origin,
      });
      const conversationId = client.session.conversationId;
      client.close();
      // Stored, but the process "dies" before the reply request leaves the in-process bus.
      await before.store.appendMessage({
        tenantId: 'demo',
        conversationId,
        visitorId: 'v-restart',
        channel: 'web',
        role: 'user',
        messageId: 'restart-1',
        clientMessageId: 'restart-1',
        eventId: 'a3c6e2d1-52f4-4b8e-9f10-2b3c4d5e6f70',
        text: 'How do I get a refund?',
        receivedAt: new Date(),
      });
      await before.close();

      const after = await startPlatform({ PARLEY_DATA_DIR: dataDir });
      try {
        await expectEventually(async () => {
          const stored = await after.store.messagesAfter('demo', conversationId, 0, 10, 'primary');
          expect(stored.map((m) => [m.seq, m.clientMessageId])).toEqual([
            [1, 'restart-1'],
            [2, 'reply:1'],
          ]);
        });
      } finally {
        await after.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('limits that need their own platform', () => {
  it('catches up from storage on the heartbeat when a live update was lost', async () => {
    const beat = await startPlatform({ WS_HEARTBEAT_INTERVAL_MS: '1000' });
    try {
      const client = await WidgetClient.connect(beat.baseUrl, {
        widgetKey: DEMO_WIDGET_KEY,
        origin: beat.origin,
      });
      client.send({ type: 'resume', afterSeq: 0 });
      await client.waitFor((f) => f.type === 'state');
      // Stored and cached, but never published: as if pub/sub dropped the update.
      const p = beat;
      const appended = await p.store.appendMessage({
        tenantId: 'demo',
        conversationId: client.session.conversationId,
        visitorId: 'someone',
        channel: 'web',
        role: 'system',
        messageId: 'sys-1',
        clientMessageId: 'sys-1',
        eventId: '9d2b8c55-7b43-4a44-9a36-1b1d2c3e4f50',
        text: 'A system notice',
        receivedAt: new Date(),
      });
      await p.sessions.put('demo', client.session.conversationId, {
        ...appended.conversation,
        position: appended.position,
      });
      const notice = await client.waitFor((f) => f.type === 'message', { timeoutMs: 5_000 });
      expect(notice).toMatchObject({ seq: 1, role: 'system', text: 'A system notice' });
      client.close();
    } finally {
      await beat.close();
    }
  });

  it('rate-limits messages per tenant across connections', async () => {
    const strict = await startPlatform({
      RATE_LIMIT_TENANT_BURST: '3',
      RATE_LIMIT_TENANT_PER_SECOND: '1',
    });
    try {
      const clients = await Promise.all(
        [0, 1].map(() =>
          WidgetClient.connect(strict.baseUrl, {
            widgetKey: DEMO_WIDGET_KEY,
            origin: strict.origin,
          }),
        ),
      );
      for (const c of clients) c.send({ type: 'resume', afterSeq: 0 });
      for (let i = 0; i < 2; i++)
        for (const c of clients) c.send({ type: 'message', clientMessageId: `t${i}`, text: 'hi' });
      const limited = await Promise.race(
        clients.map((c) => c.waitFor((f) => f.code === 'GW_ERR_RATE_LIMITED')),
      );
      expect(limited.message).toMatch(/this site/);
      expect(limited.retryAfterMs).toBeGreaterThan(0);
      for (const c of clients) c.close();
    } finally {
      await strict.close();
    }
  });

  it('rate-limits session requests per IP', async () => {
    const strict = await startPlatform({ RATE_LIMIT_IP_BURST: '3', RATE_LIMIT_IP_PER_SECOND: '1' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (await createSession(strict.baseUrl, { widgetKey: DEMO_WIDGET_KEY }, strict.origin))
            .status,
        );
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
    } finally {
      await strict.close();
    }
  });

  it('terminates a peer that stops answering pings and keeps the ones that answer', async () => {
    const beat = await startPlatform({ WS_HEARTBEAT_INTERVAL_MS: '1000' });
    try {
      const dead = await WidgetClient.connect(beat.baseUrl, {
        widgetKey: DEMO_WIDGET_KEY,
        origin: beat.origin,
        autoPong: false,
      });
      const alive = await WidgetClient.connect(beat.baseUrl, {
        widgetKey: DEMO_WIDGET_KEY,
        origin: beat.origin,
      });
      const closed = await dead.waitClosed(5_000);
      expect(closed.code).toBe(1006);
      expect(alive.closed).toBeUndefined();
      await expectEventually(() => expect(beat.app.gateway.sockets).toBe(1));
      expect(alive.closed).toBeUndefined();
      alive.close();
    } finally {
      await beat.close();
    }
  });
});
