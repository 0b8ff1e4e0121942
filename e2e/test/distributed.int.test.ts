import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  WidgetClient,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type Frame,
  type ServiceProcess,
} from '@parley/testing';

/**
 * Gateway, chat and AI as separate processes on real Kafka, Postgres and
 * Redis: 50 widgets send 20 messages each; every message and reply must be
 * stored once, in order, with gap-free sequence numbers, and delivered. Then
 * again with two gateways, one of them SIGKILLed mid-run.
 */
const CLIENTS = 50;
const MESSAGES = 20;
const ORIGIN = 'http://parley.test';
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);

let db: PgDatabase;
let store: ConversationStore;
const procs: ServiceProcess[] = [];
const run = randomUUID().slice(0, 8);
const env = () => ({
  ...serviceEnv({ isolate: run }),
  RATE_LIMIT_IP_BURST: '100000',
  RATE_LIMIT_IP_PER_SECOND: '100000',
  RATE_LIMIT_CONNECTION_BURST: '1000',
  RATE_LIMIT_CONNECTION_PER_SECOND: '1000',
  WS_HEARTBEAT_INTERVAL_MS: '2000',
});

beforeAll(async () => {
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  store = new ConversationStore(db);
  const [chat, ai] = await Promise.all([
    startServiceProcess(entry('@parley/chat'), { env: env(), startTimeoutMs: 60_000 }),
    startServiceProcess(entry('@parley/ai'), { env: env(), startTimeoutMs: 60_000 }),
  ]);
  procs.push(chat, ai);
}, 90_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  await db?.close();
});

async function tenant(): Promise<string> {
  const id = `dist-${randomUUID().slice(0, 8)}`;
  await store.upsertTenant({ id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [ORIGIN] });
  return id;
}

/** What one simulated widget saw. */
interface Visitor {
  conversationId: string;
  /** Message frames per socket the visitor used, in arrival order. */
  sockets: Frame[][];
  reconnects: number;
}

/**
 * One widget: sends its messages one after another, each after the previous
 * one's reply, and when its socket dies reconnects to a live gateway,
 * resumes from the last sequence number it saw and resends what was unanswered.
 */
async function visitor(
  widgetKey: string,
  gateways: () => string[],
  index: number,
): Promise<Visitor> {
  const seen = new Map<number, Frame>();
  const result: Visitor = { conversationId: '', sockets: [], reconnects: 0 };
  let client: WidgetClient | undefined;
  const connect = async () => {
    const live = gateways();
    const url = live[index % live.length]!;
    client = await WidgetClient.connect(url, {
      widgetKey,
      origin: ORIGIN,
      ...(result.conversationId
        ? { visitorToken: client!.session.visitorToken, conversationId: result.conversationId }
        : {}),
    });
    result.conversationId = client.session.conversationId;
    const frames: Frame[] = [];
    result.sockets.push(frames);
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type !== 'message') return;
      frames.push(frame);
      seen.set(frame.seq as number, frame);
    });
    const lastSeq = Math.max(0, ...seen.keys());
    client.send({ type: 'resume', afterSeq: lastSeq });
  };
  const answered = (clientMessageId: string) => {
    const mine = [...seen.values()].find((f) => f.clientMessageId === clientMessageId);
    return mine && seen.has((mine.seq as number) + 1) ? true : undefined;
  };
  await connect();
  for (let n = 0; n < MESSAGES; n++) {
    const clientMessageId = `m-${n}`;
    for (;;) {
      try {
        client!.send({ type: 'message', clientMessageId, text: n % 2 ? 'pricing' : 'hello' });
        await client!.waitFor(() => answered(clientMessageId) === true, { timeoutMs: 30_000 });
        break;
      } catch (err) {
        if (!client!.closed) throw err;
        result.reconnects++;
        // The gateway list may still name the one just killed: a refused connection
        // tries again (as the widget does, with backoff) until a live one answers.
        for (let attempt = 1; ; attempt++) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
          try {
            await connect();
            break;
          } catch (connectErr) {
            if (attempt >= 20) throw connectErr;
          }
        }
      }
    }
  }
  client!.close();
  return result;
}

async function verify(tenantId: string, visitors: Visitor[]): Promise<void> {
  for (const v of visitors) {
    const stored = await store.messagesAfter(tenantId, v.conversationId, 0, 1_000, 'primary');
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 2 * MESSAGES }, (_, i) => i + 1));
    expect(stored.filter((m) => m.role === 'user').map((m) => m.clientMessageId)).toEqual(
      Array.from({ length: MESSAGES }, (_, n) => `m-${n}`),
    );
    stored.forEach((m, i) => {
      if (m.role === 'assistant') expect(m.clientMessageId).toBe(`reply:${i}`);
    });
    for (const frames of v.sockets) {
      const seqs = frames.map((f) => f.seq as number);
      expect(new Set(seqs).size, 'a socket got a message twice').toBe(seqs.length);
      expect(
        [...seqs].sort((a, b) => a - b),
        'a socket got messages out of order',
      ).toEqual(seqs);
    }
    const delivered = new Set(v.sockets.flat().map((f) => f.seq as number));
    expect(delivered.size).toBe(2 * MESSAGES);
  }
}

describe('text chat across separate processes on real infrastructure', () => {
  it(`stores and delivers ${CLIENTS} x ${MESSAGES} messages and replies exactly once, in order`, async () => {
    const gateway = await startServiceProcess(entry('@parley/gateway'), {
      env: env(),
      startTimeoutMs: 60_000,
    });
    procs.push(gateway);
    const tenantId = await tenant();
    const visitors = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        visitor(`pk_${tenantId}`, () => [gateway.baseUrl], i),
      ),
    );
    await verify(tenantId, visitors);
    expect(visitors.reduce((n, v) => n + v.reconnects, 0)).toBe(0);
  }, 240_000);

  it('loses and doubles nothing when one of two gateways is SIGKILLed mid-run', async () => {
    const [a, b] = await Promise.all([
      startServiceProcess(entry('@parley/gateway'), { env: env(), startTimeoutMs: 60_000 }),
      startServiceProcess(entry('@parley/gateway'), { env: env(), startTimeoutMs: 60_000 }),
    ]);
    procs.push(a, b);
    const tenantId = await tenant();
    const alive = () =>
      [a, b]
        .filter((p) => p.child.exitCode === null && p.child.signalCode === null)
        .map((p) => p.baseUrl);
    const running = Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => visitor(`pk_${tenantId}`, alive, i)),
    );
    const killed = (async () => {
      for (;;) {
        const { rows } = await db.router.read<{ n: string }>(
          `select count(*) as n from messages where tenant_id = $1 and role = 'assistant'`,
          [tenantId],
          'primary',
        );
        if (Number(rows[0]!.n) >= (CLIENTS * MESSAGES) / 4) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await b.stop('SIGKILL');
    })();
    const visitors = await running;
    await killed;
    await verify(tenantId, visitors);
    const moved = visitors.filter((v) => v.reconnects > 0).length;
    expect(moved).toBeGreaterThanOrEqual(CLIENTS / 2 - 1);
  }, 240_000);
});

describe('onboarding a tenant through the operators’ API', () => {
  it('creates a tenant on a gateway process, and a widget chats with the key it was given', async () => {
    const token = `distributed-admin-${run}-0123456789abcdef`;
    const gateway = await startServiceProcess(entry('@parley/gateway'), {
      env: { ...env(), PARLEY_ADMIN_TOKEN: token },
      startTimeoutMs: 60_000,
    });
    procs.push(gateway);
    const id = `onboarded-${run}`;
    const res = await fetch(`${gateway.baseUrl}/admin/tenants/${id}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'if-none-match': '*',
      },
      body: JSON.stringify({ name: 'Onboarded', allowedOrigins: [ORIGIN] }),
    });
    expect(res.status).toBe(201);
    const { widgetKey } = (await res.json()) as { widgetKey: string };
    const [chatted] = await Promise.all([visitor(widgetKey, () => [gateway.baseUrl], 0)]);
    await verify(id, [chatted!]);
  }, 120_000);
});
