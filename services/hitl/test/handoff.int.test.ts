import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  WidgetClient,
  expectEventually,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from '@parley/testing';
import { createHitlStores, type HitlStores } from '../src/index.js';

/**
 * Human handoff across separate processes on real Kafka, Postgres and Redis:
 * gateway, chat, AI and hitl. A SIGKILLed hitl process loses no queued
 * handoff and no assignment; of agents racing for the same handoffs exactly
 * one wins each.
 */
const ORIGIN = 'http://parley.test';
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
const run = randomUUID().slice(0, 8);
const env = {
  ...serviceEnv({ isolate: run }),
  RATE_LIMIT_IP_BURST: '100000',
  RATE_LIMIT_IP_PER_SECOND: '100000',
};

let db: PgDatabase;
let store: ConversationStore;
let stores: HitlStores;
const procs: ServiceProcess[] = [];
let gateway: ServiceProcess;
let hitl: ServiceProcess;
const tenantId = `hitl-${run}`;

beforeAll(async () => {
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  store = new ConversationStore(db);
  stores = createHitlStores(db);
  await store.upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [ORIGIN],
  });
  for (const name of ['Ana', 'Ben', 'Cy'])
    await stores.agents.upsertAgent({
      tenantId,
      id: name.toLowerCase(),
      email: `${name.toLowerCase()}@${tenantId}.test`,
      name,
      password: `${name}-password`,
    });
  const started = await Promise.all(
    (['@parley/gateway', '@parley/chat', '@parley/ai', '@parley/hitl'] as const).map((s) =>
      startServiceProcess(entry(s), { env, startTimeoutMs: 60_000 }),
    ),
  );
  procs.push(...started);
  [gateway, , , hitl] = started as [ServiceProcess, ServiceProcess, ServiceProcess, ServiceProcess];
}, 120_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGTERM').catch(() => undefined)));
  await db?.close();
});

async function api(base: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function signIn(base: string, name: string): Promise<string> {
  const { status, body } = await api(base, '/v1/agent/sessions', undefined, {
    tenantId,
    email: `${name.toLowerCase()}@${tenantId}.test`,
    password: `${name}-password`,
  });
  expect(status).toBe(201);
  return body.token as string;
}

/** A visitor who asks for a person; resolves once the widget shows the handoff waiting. */
async function askForHuman(): Promise<WidgetClient> {
  const client = await WidgetClient.connect(gateway.baseUrl, {
    widgetKey: `pk_${tenantId}`,
    origin: ORIGIN,
  });
  client.send({ type: 'resume', afterSeq: 0 });
  client.send({ type: 'message', clientMessageId: 'h', text: 'I need to speak to a human' });
  await client.waitFor((f) => f.type === 'state' && f.handoff === 'waiting', { timeoutMs: 30_000 });
  return client;
}

describe('human handoff across processes on real infrastructure', () => {
  it('loses no queued handoff and no assignment when the hitl process is SIGKILLed, and the agent then takes over', async () => {
    const [first, second] = await Promise.all([askForHuman(), askForHuman()]);
    await expectEventually(
      async () => expect((await stores.handoffs.queued(tenantId)).length).toBeGreaterThanOrEqual(2),
      { timeoutMs: 15_000 },
    );
    let token = await signIn(hitl.baseUrl, 'Ana');
    const firstHandoff = (await stores.handoffs.openFor(tenantId, first.session.conversationId))!;
    expect(
      (await api(hitl.baseUrl, `/v1/agent/handoffs/${firstHandoff.id}/accept`, token, {})).status,
    ).toBe(200);

    await hitl.stop('SIGKILL');
    hitl = await startServiceProcess(entry('@parley/hitl'), { env, startTimeoutMs: 60_000 });
    procs.push(hitl);
    // Rebuilt from storage: the assignment and the waiting handoff are both still there,
    // and the token signed before the restart still works.
    const queue = await api(hitl.baseUrl, '/v1/agent/queue', token);
    expect(queue.status).toBe(200);
    expect(
      (queue.body.mine as Array<{ conversationId: string }>).map((h) => h.conversationId),
    ).toContain(first.session.conversationId);
    expect(
      (queue.body.queued as Array<{ conversationId: string }>).map((h) => h.conversationId),
    ).toContain(second.session.conversationId);

    token = await signIn(hitl.baseUrl, 'Ana');
    const sent = await api(
      hitl.baseUrl,
      `/v1/agent/conversations/${first.session.conversationId}/messages`,
      token,
      { clientMessageId: 'a1', text: 'Ana here, how can I help?' },
    );
    expect(sent.status).toBe(202);
    await first.waitFor((f) => f.type === 'message' && f.role === 'agent', { timeoutMs: 15_000 });
    expect(first.frames.some((f) => f.type === 'state' && f.handler === 'agent')).toBe(true);
    first.close();
    second.close();
  }, 120_000);

  it('gives each of 5 handoffs to exactly one of 3 agents accepting all of them at once', async () => {
    const visitors = await Promise.all(Array.from({ length: 5 }, () => askForHuman()));
    const ids = await Promise.all(
      visitors.map(async (v) => {
        let open = await stores.handoffs.openFor(tenantId, v.session.conversationId);
        for (let i = 0; i < 100 && !open; i++) {
          await new Promise((r) => setTimeout(r, 50));
          open = await stores.handoffs.openFor(tenantId, v.session.conversationId);
        }
        return open!.id;
      }),
    );
    const tokens = await Promise.all(['Ana', 'Ben', 'Cy'].map((n) => signIn(hitl.baseUrl, n)));
    const attempts = await Promise.all(
      ids.flatMap((id) =>
        tokens.map((t) => api(hitl.baseUrl, `/v1/agent/handoffs/${id}/accept`, t, {})),
      ),
    );
    for (let i = 0; i < ids.length; i++) {
      const mine = attempts.slice(i * 3, i * 3 + 3).map((a) => a.status);
      expect(mine.sort()).toEqual([200, 409, 409]);
    }
    for (const v of visitors) {
      await v.waitFor((f) => f.type === 'state' && f.handler === 'agent', { timeoutMs: 15_000 });
      const joined = (
        await store.messagesAfter(tenantId, v.session.conversationId, 0, 50, 'primary')
      ).filter((m) => m.role === 'system');
      expect(joined).toHaveLength(1);
      v.close();
    }
  }, 120_000);
});
