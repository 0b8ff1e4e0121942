import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { createHitlStores } from '@parley/hitl';
import { PgDatabase } from '@parley/postgres';
import { migrate } from '@parley/schema';
import {
  ResumingWidget,
  WidgetClient,
  eventually,
  freePort,
  pgQuery,
  serviceEntry,
  startFakeLlm,
  startKafkaBroker,
  startPgCluster,
  startRedisServer,
  startServiceProcess,
  startToxiproxy,
  type FakeLlm,
  type FaultProxy,
  type Frame,
  type KafkaBroker,
  type PgCluster,
  type PgNode,
  type RedisServer,
  type ServiceProcess,
  type ToxiproxyServer,
} from '@parley/testing';

/**
 * The regional drill (docs/multi-region.md): three regions as process
 * groups on loopback, each with its own Kafka broker, Redis, and gateway,
 * chat, AI and hitl processes; Postgres with the primary in us-east, a
 * synchronous standby in eu-west and asynchronous replicas in us-east and
 * us-west-dr; Toxiproxy's latency on every cross-region link (Postgres and
 * Kafka) in place of the Atlantic; and a front that sends new connections
 * 70/30 to us-east and eu-west in place of GeoDNS, switching only when the
 * DNS hook says so, after a TTL.
 *
 * Widgets chat through the front without pause; a us-east visitor asks for
 * a person and an eu-west agent answers. Then every us-east process dies
 * (Kafka, Redis, Postgres, services), and `parley-dr region failover` moves
 * the region to eu-west; later `parley-dr region failback` brings it back.
 * Measured, not configured: RTO, RPO, lost and doubled messages, resumes.
 */
const ORIGIN = 'http://parley.test';
const ADMIN_TOKEN = 'regions-admin-token-0123456789abcdef';
/** Half a transatlantic round trip, on each cross-region link and direction. */
const WAN_ONE_WAY_MS = 35;
/** The front applies a DNS change this long after the hook (production: a 60 s TTL). */
const DNS_TTL_MS = 5_000;
const VISITORS = 6;
const REGIONS = ['us-east', 'eu-west', 'us-west-dr'] as const;
type Region = (typeof REGIONS)[number];
type Service = 'gateway' | 'chat' | 'ai' | 'hitl';
const PACKAGE: Record<Service, `@parley/${string}`> = {
  gateway: '@parley/gateway',
  chat: '@parley/chat',
  ai: '@parley/ai',
  hitl: '@parley/hitl',
};
const QUESTIONS = ['What are your opening hours?', 'Do you ship abroad?', 'Can I pay later?'];

const require = createRequire(import.meta.url);
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
const drCli = join(dirname(require.resolve('@parley/dr')), 'cli.js');
const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tenantId = `regions-${randomUUID().slice(0, 8)}`;

interface RegionGroup {
  name: Region;
  kafka: KafkaBroker;
  /** What other regions reach this region's Kafka through (WAN latency). */
  kafkaWan: FaultProxy;
  kafkaWanPort: number;
  redis: RedisServer;
  procs: Partial<Record<Service, ServiceProcess>>;
}

let toxi: ToxiproxyServer;
let pg: PgCluster;
let llm: FakeLlm;
let front: Front;
const groups = {} as Record<Region, RegionGroup>;
/** Each Postgres node's region, and the proxy other regions reach it through. */
const pgWan = new Map<PgNode, FaultProxy>();
const widgets: ResumingWidget[] = [];

/** Which database node lives where: a and c in us-east, b in eu-west, d in us-west-dr. */
const nodes = () => ({ a: pg.primary, b: pg.replica, c: pg.others[0]!, d: pg.others[1]! });
const home = (n: PgNode): Region => {
  const { b, d } = nodes();
  return n === b ? 'eu-west' : n === d ? 'us-west-dr' : 'us-east';
};
/** A node's URL as a region's services reach it: directly at home, else over the WAN. */
const pgUrl = (n: PgNode, from: Region) =>
  home(n) === from ? n.url : `postgres://postgres@127.0.0.1:${pgWan.get(n)!.port}/postgres`;

function env(region: Region, service: Service): Record<string, string> {
  const { a, b, c, d } = nodes();
  const group = groups[region];
  // Every region knows every node that may take writes (a, b) and reads its own replica first.
  const replicas = { 'us-east': [c, b], 'eu-west': [b], 'us-west-dr': [d, b] }[region];
  const common: Record<string, string> = {
    PARLEY_REGION: region,
    PARLEY_PG_PRIMARY_URL: pgUrl(a, region),
    PARLEY_PG_REPLICA_URLS: replicas.map((n) => pgUrl(n, region)).join(','),
    PARLEY_REDIS_URL: group.redis.url,
    PARLEY_KAFKA_BROKERS: group.kafka.brokers,
    PARLEY_KAFKA_TOPIC_PARTITIONS: '6',
    PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
    // One identity in every region (docs/operators/install.md).
    PARLEY_SESSION_SECRET: 'regions-session-secret-0123456789abcdefgh',
    PARLEY_AGENT_SECRET: 'regions-agent-secret-0123456789abcdefghij',
    SHUTDOWN_DEADLINE_MS: '5000',
    LOG_LEVEL: 'info',
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_SECOND: '100000',
    RATE_LIMIT_CONNECTION_BURST: '1000',
    RATE_LIMIT_CONNECTION_PER_SECOND: '1000',
    HITL_SIGN_IN_BURST_PER_ADDRESS: '100000',
    HITL_SIGN_IN_BURST_PER_ACCOUNT: '100000',
    WS_HEARTBEAT_INTERVAL_MS: '2000',
    CHAT_RECOVER_AFTER_PROMOTION_MS: '3000',
  };
  if (service === 'hitl')
    return {
      ...common,
      // Every other region's Kafka, over the WAN: agents' events go to the visitor's region.
      PARLEY_REGION_KAFKA: REGIONS.map(
        (r) => `${r}=127.0.0.1:${r === region ? groups[r].kafka.port : groups[r].kafkaWanPort}`,
      ).join(';'),
    };
  if (service === 'ai')
    return {
      ...common,
      OPENAI_API_KEY: 'sk-regions-openai',
      OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
      AI_HUMANS_HEALTH_URL: `${group.procs.hitl?.baseUrl ?? 'http://127.0.0.1:9'}/readyz`,
    };
  return common;
}

async function startRegionServices(region: Region): Promise<void> {
  const group = groups[region];
  const start = async (s: Service) => {
    group.procs[s] = await startServiceProcess(entry(PACKAGE[s]), {
      env: env(region, s),
      startTimeoutMs: 90_000,
    });
  };
  await Promise.all([start('chat'), start('hitl')]);
  await start('ai');
  await start('gateway');
}

/**
 * GeoDNS in miniature: each new connection goes to a region by the current
 * weights (spread exactly over every 100 connections) and to that region's
 * gateway, or is dropped when nothing listens there (as a client whose DNS
 * still names a dead region). `dns()` changes the weights after the TTL.
 */
interface Front {
  url: string;
  weights: Partial<Record<Region, number>>;
  /** Connections sent to each region. */
  sent: Record<Region, number>;
  /** The hook's control address: POST /dns?from=&to=&percent=. */
  controlUrl: string;
  /** When the last DNS change took effect. */
  switchedAt: number;
  close(): Promise<void>;
}

async function startFront(): Promise<Front> {
  let n = 0;
  const sockets = new Set<Socket>();
  const state: Front = {
    url: '',
    controlUrl: '',
    weights: { 'us-east': 70, 'eu-west': 30 },
    sent: { 'us-east': 0, 'eu-west': 0, 'us-west-dr': 0 },
    switchedAt: 0,
    close: async () => undefined,
  };
  const pick = (): Region | undefined => {
    const slot = (n++ * 61) % 100;
    let sum = 0;
    for (const r of REGIONS) {
      sum += state.weights[r] ?? 0;
      if (slot < sum) return r;
    }
    return undefined;
  };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const region = pick();
    const gateway = region && groups[region].procs.gateway;
    if (!region || !gateway || gateway.child.exitCode !== null || gateway.child.signalCode) {
      client.destroy();
      return;
    }
    state.sent[region]++;
    client.pause();
    const upstream = connect(Number(new URL(gateway.baseUrl).port), '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const timers = new Set<NodeJS.Timeout>();
  const control: HttpServer = createHttpServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const [from, to, percent] = [q.get('from'), q.get('to'), Number(q.get('percent'))];
    if (
      req.method !== 'POST' ||
      !REGIONS.includes(from as Region) ||
      !REGIONS.includes(to as Region) ||
      !(percent >= 0 && percent <= 100)
    ) {
      res.writeHead(400).end();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      state.weights = { [to as Region]: percent, [from as Region]: 100 - percent };
      state.switchedAt = Date.now();
    }, DNS_TTL_MS);
    timers.add(timer);
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  state.controlUrl = `http://127.0.0.1:${(control.address() as { port: number }).port}`;
  state.close = async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => control.close(r))]);
  };
  return state;
}

/** The DNS hook: tells the front, as a GeoDNS API call would. */
const dnsHook = () =>
  `${process.execPath} -e "fetch('${front.controlUrl}/dns?from='+process.env.PARLEY_REGION_FROM+'&to='+process.env.PARLEY_REGION_TO+'&percent='+process.env.PARLEY_TRAFFIC_PERCENT,{method:'POST'}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`;

async function dr(...args: string[]): Promise<{ code: number; steps: StepLine[]; stderr: string }> {
  const result = await exec(process.execPath, [drCli, 'region', ...args], {
    env: { ...process.env, PARLEY_PG_BIN: pg.bin },
    timeout: 300_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  const steps = result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StepLine);
  return { code: result.code, steps, stderr: result.stderr };
}
interface StepLine {
  step: string;
  ok: boolean;
  detail: string;
  ms: number;
}
const asPostgres = () => (process.getuid?.() === 0 ? 'runuser -u postgres -- ' : '');
const rejoinHook = (n: PgNode, source: PgNode) =>
  `${process.execPath} ${drCli} failover rejoin --data-dir ${n.dataDir} --source ${source.url} --start >&2 && ` +
  `${process.execPath} ${drCli} failover sync on --primary ${source.url} >&2`;

async function killRegion(region: Region): Promise<void> {
  const group = groups[region];
  await Promise.all([
    ...Object.values(group.procs).map((p) => p.stop('SIGKILL')),
    group.kafka.kill(),
    group.redis.kill(),
    ...(region === 'us-east' ? [pg.crash(nodes().a), pg.crash(nodes().c)] : []),
  ]);
  group.procs = {};
}

/** What the database holds of the widgets' conversations and what they were told. */
async function audit(url: string) {
  // What the widgets know first: an ack arriving during the query is not counted as lost.
  const acked = widgets.flatMap((w) =>
    [...w.sent.values()]
      .filter((m) => m.ackedAt !== undefined)
      .map((m) => ({ ...m, key: `${w.conversationId}/${m.clientMessageId}` })),
  );
  const stored = await pgQuery<{
    conversation_id: string;
    client_message_id: string;
    role: string;
    seq: number;
    reply_to_seq: number | null;
  }>(
    url,
    `select conversation_id, client_message_id, role, seq::int as seq, reply_to_seq::int as reply_to_seq
       from messages where tenant_id = $1`,
    [tenantId],
  );
  const ids = new Set(stored.map((m) => `${m.conversation_id}/${m.client_message_id}`));
  const lost = acked.filter((m) => !ids.has(m.key));
  // Stored twice: a gap or repeat in a conversation's numbering, or two answers to one message.
  let doubled = 0;
  const byConversation = new Map<string, typeof stored>();
  for (const m of stored)
    byConversation.set(m.conversation_id, [...(byConversation.get(m.conversation_id) ?? []), m]);
  for (const messages of byConversation.values()) {
    const seqs = messages.map((m) => m.seq).sort((x, y) => x - y);
    if (seqs.some((seq, i) => seq !== i + 1)) doubled++;
    const answered = messages.filter((m) => m.role === 'assistant').map((m) => m.reply_to_seq);
    doubled += answered.length - new Set(answered).size;
  }
  return { acked, lost, doubled, stored: stored.length };
}

const report: string[] = [];

beforeAll(async () => {
  toxi = await startToxiproxy();
  [pg, llm] = await Promise.all([
    startPgCluster({ synchronous: true, asyncReplicas: 2 }),
    startFakeLlm(),
  ]);
  for (const n of [nodes().a, nodes().b]) {
    const proxy = await toxi.proxy(`pg-${n.name}`, n.port);
    await proxy.latency(WAN_ONE_WAY_MS);
    pgWan.set(n, proxy);
  }
  // Each region's Kafka: a local listener, and one advertised behind a WAN proxy.
  await Promise.all(
    REGIONS.map(async (name) => {
      const kafkaWanPort = await freePort();
      const [kafka, redis] = await Promise.all([
        startKafkaBroker({ wanAdvertisedPort: kafkaWanPort }),
        startRedisServer(),
      ]);
      const kafkaWan = await toxi.proxy(`kafka-${name}`, kafka.wanPort!, kafkaWanPort);
      await kafkaWan.latency(WAN_ONE_WAY_MS);
      groups[name] = { name, kafka, kafkaWan, kafkaWanPort, redis, procs: {} };
    }),
  );
  const db = new PgDatabase({ primaryUrl: pg.primary.url });
  try {
    await migrate(db);
    await new ConversationStore(db).upsertTenant({
      id: tenantId,
      name: tenantId,
      widgetKey: `pk_${tenantId}`,
      allowedOrigins: [ORIGIN],
    });
    await createHitlStores(db).agents.upsertAgent({
      tenantId,
      id: 'eva',
      email: `eva@${tenantId}.test`,
      name: 'Eva',
      password: 'Eva-password-in-eu-west',
    });
  } finally {
    await db.close();
  }
  // The regions one after the other: twelve processes booting at once starve two cores.
  for (const region of REGIONS) await startRegionServices(region);
  front = await startFront();
  for (let i = 0; i < VISITORS; i++) {
    const widget = new ResumingWidget(front.url, {
      widgetKey: `pk_${tenantId}`,
      origin: ORIGIN,
      questions: QUESTIONS,
      thinkMs: 200,
    });
    await widget.start();
    widgets.push(widget);
  }
}, 420_000);

afterAll(async () => {
  await Promise.all(widgets.map((w) => w.stop(1_000)));
  await Promise.all(
    REGIONS.flatMap((r) =>
      Object.values(groups[r]?.procs ?? {}).map((p) => p.stop('SIGTERM').catch(() => undefined)),
    ),
  );
  await front?.close();
  await Promise.all(
    REGIONS.flatMap((r) => [groups[r]?.kafka.destroy(), groups[r]?.redis.destroy()]),
  );
  await pg?.destroy();
  await llm?.close();
  await toxi?.stop();
  if (report.length) console.log(report.join('\n'));
}, 120_000);

async function agentApi(path: string, token: string | undefined, body?: unknown) {
  const hitl = groups['eu-west'].procs.hitl!;
  const res = await fetch(`${hitl.baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The eu-west agent replies; resolves with how long until the visitor's socket showed it. */
async function replyReaches(visitor: WidgetClient, token: string, text: string): Promise<number> {
  let shownAt = 0;
  const onMessage = (data: unknown) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (!shownAt && frame.type === 'message' && frame.role === 'agent' && frame.text === text)
      shownAt = Date.now();
  };
  visitor.ws.on('message', onMessage);
  const startedAt = Date.now();
  try {
    const sent = await agentApi(
      `/v1/agent/conversations/${visitor.session.conversationId}/messages`,
      token,
      { clientMessageId: randomUUID(), text },
    );
    expect(sent.status).toBe(202);
    await eventually(() => (shownAt ? shownAt : undefined), {
      timeoutMs: 10_000,
      what: `the visitor to see "${text}"`,
    });
    return shownAt - startedAt;
  } finally {
    visitor.ws.off('message', onMessage);
  }
}

describe('three regions, one lost', () => {
  let visitor: WidgetClient;
  let agentToken: string;
  let killedAt = 0;

  it('an eu-west agent answers a us-east visitor live, across regions, within 1 s', async () => {
    // The visitor's own region: us-east's gateway (its regional host).
    visitor = await WidgetClient.connect(groups['us-east'].procs.gateway!.baseUrl, {
      widgetKey: `pk_${tenantId}`,
      origin: ORIGIN,
    });
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'h', text: 'I need to speak to a human' });
    await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting', {
      timeoutMs: 30_000,
    });
    const signIn = await agentApi('/v1/agent/sessions', undefined, {
      tenantId,
      email: `eva@${tenantId}.test`,
      password: 'Eva-password-in-eu-west',
    });
    expect(signIn.status).toBe(201);
    agentToken = signIn.body.token as string;
    // Eva takes it from the queue she sees in eu-west (handoffs are global), then answers.
    const queued = await eventually(
      async () => {
        const queue = await agentApi('/v1/agent/queue', agentToken);
        return (queue.body.queued as Array<{ id: string; conversationId: string }>).find(
          (h) => h.conversationId === visitor.session.conversationId,
        );
      },
      { timeoutMs: 15_000, what: 'the us-east handoff in the eu-west queue' },
    );
    const from = visitor.frames.length;
    expect((await agentApi(`/v1/agent/handoffs/${queued.id}/accept`, agentToken, {})).status).toBe(
      200,
    );
    await visitor.waitFor((f) => f.type === 'state' && f.handler === 'agent', {
      timeoutMs: 5_000,
      from,
    });
    const ms = [
      await replyReaches(visitor, agentToken, 'Eva from eu-west here, how can I help?'),
      await replyReaches(visitor, agentToken, 'Let me look at your order.'),
    ];
    report.push(
      `cross-region agent replies (eu-west agent, us-east visitor, ${2 * WAN_ONE_WAY_MS} ms round trips): ${ms.join(' ms, ')} ms`,
    );
    for (const t of ms) expect(t).toBeLessThan(1_000);
    // They went through us-east's Kafka (the visitor's home), not eu-west's.
    const metrics = await (await fetch(`${groups['eu-west'].procs.hitl!.baseUrl}/metrics`)).text();
    const routedHome =
      /^hitl_events_routed_total\{region="us-east",outcome="home"[^}]*\} (\d+)/m.exec(metrics);
    expect(
      Number(routedHome?.[1]),
      metrics
        .split('\n')
        .filter((l) => l.startsWith('hitl_events_routed'))
        .join('\n'),
    ).toBeGreaterThanOrEqual(3); // accepted, two replies
    // The widgets meanwhile chat through the front, in both regions.
    await eventually(
      () =>
        widgets.every((w) => [...w.sent.values()].some((m) => m.answeredAt !== undefined))
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'every widget to get an answer' },
    );
    expect(front.sent['us-east']).toBeGreaterThan(front.sent['eu-west']);
    expect(front.sent['eu-west']).toBeGreaterThan(0);
  }, 120_000);

  it('loses us-east entirely and fails over to eu-west: nothing acknowledged lost, nothing doubled, every visitor back with its old tokens', async () => {
    const { b, d } = nodes();
    const eastHealth = `${groups['us-east'].procs.gateway!.baseUrl}/readyz`;
    await sleep(3_000);
    killedAt = Date.now();
    await killRegion('us-east');
    // What the cold site would have lost, had it been promoted (its replica is asynchronous).
    const atKill = await audit(d.url);
    const drLost = atKill.lost.filter((m) => m.ackedAt! <= killedAt);
    const decidedAt = Date.now();
    const run = await dr(
      'failover',
      ...['--from', 'us-east', '--from-health', eastHealth],
      ...['--from-db', nodes().a.url],
      ...['--to', 'eu-west', '--to-health', `${groups['eu-west'].procs.gateway!.baseUrl}/readyz`],
      ...['--to-db', b.url, '--probes', '3', '--confirm-ms', '2000', '--max-lag-s', '60'],
      '--hook-dns',
      dnsHook(),
    );
    expect(
      run.steps.map((s) => [s.step, s.ok]),
      run.stderr,
    ).toEqual([
      ['primary-region-down', true],
      ['standby-replica-ready', true],
      ['promote', true],
      ['repoint', true],
      ['scale-up', true],
      ['dns', true],
      ['notify', true],
    ]);
    const failoverDoneAt = Date.now();
    // Every visitor is acknowledged again after the loss (its socket moved to eu-west).
    const backAt = await eventually(
      () => {
        const firsts = widgets.map((w) =>
          Math.min(
            ...[...w.sent.values()]
              .filter((m) => m.ackedAt !== undefined && m.ackedAt > killedAt)
              .map((m) => m.ackedAt!),
          ),
        );
        return firsts.every(Number.isFinite) ? Math.max(...firsts) : undefined;
      },
      { timeoutMs: 120_000, what: 'every visitor to be acknowledged again' },
    );
    // Replies whose requests died with us-east's Kafka are asked for again in eu-west.
    await eventually(
      () =>
        widgets.every((w) =>
          [...w.sent.values()].every(
            (m) => m.ackedAt === undefined || m.ackedAt > killedAt || m.answeredAt !== undefined,
          ),
        )
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'every message acknowledged before the loss to be answered' },
    );
    const resumedWithin = Math.max(
      ...widgets.flatMap((w) =>
        w.reconnects
          .filter((r) => r.closedAt >= killedAt - 1_000 && r.resumedAt !== undefined)
          .map((r) => r.resumedAt! - killedAt),
      ),
    );
    const after = await audit(b.url);
    const recovered = REGIONS.map((r) => {
      const line = groups[r].procs.chat?.logs.find(
        (l) => l.msg === 'Requested replies left unanswered before the promotion',
      );
      return `${r} ${line ? String(line.recovered) : '-'}`;
    });
    const rpoSeconds =
      after.lost.length === 0
        ? 0
        : (killedAt - Math.min(...after.lost.map((m) => m.ackedAt!))) / 1000;
    report.push(
      '| drill | regions | fault | RTO (all visitors acknowledged again) | decision to serving | RPO | lost | doubled | resumed within |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| failover | us-east 70 % + eu-west 30 % → eu-west | every us-east process killed (Kafka, Redis, Postgres primary and replica, services) | ${((backAt - killedAt) / 1000).toFixed(1)} s | ${((failoverDoneAt - decidedAt + DNS_TTL_MS) / 1000).toFixed(1)} s (runbook ${((failoverDoneAt - decidedAt) / 1000).toFixed(1)} s + DNS TTL ${DNS_TTL_MS / 1000} s) | ${rpoSeconds.toFixed(1)} s | ${after.lost.length} of ${after.acked.length} | ${after.doubled} | ${(resumedWithin / 1000).toFixed(1)} s |`,
      `us-west-dr's asynchronous replica at the loss: ${drLost.length} of ${atKill.acked.length} acknowledged messages missing (what promoting it instead would have cost)`,
      `answers asked for again after the promotion (requests lost with us-east's Kafka): ${recovered.join(', ')}`,
      `failover steps: ${run.steps.map((s) => `${s.step} ${s.ms} ms`).join(', ')}`,
    );
    expect(after.lost).toEqual([]);
    expect(after.doubled).toBe(0);
    expect(resumedWithin).toBeLessThanOrEqual(backAt - killedAt);

    // The handoff continues: the visitor comes back through the front with its old
    // tokens, sees its whole history, and the agent's next reply reaches it live.
    const moved = await eventually(
      () =>
        WidgetClient.connect(front.url, {
          widgetKey: `pk_${tenantId}`,
          origin: ORIGIN,
          visitorToken: visitor.session.visitorToken,
          conversationId: visitor.session.conversationId,
        }).catch(() => undefined),
      { timeoutMs: 30_000, what: 'the handoff visitor to reconnect' },
    );
    visitor.close();
    moved.send({ type: 'resume', afterSeq: 0 });
    await moved.waitFor(
      (f) => f.type === 'message' && f.text === 'Eva from eu-west here, how can I help?',
      { timeoutMs: 10_000 },
    );
    visitor = moved;
    const ms = await replyReaches(visitor, agentToken, 'Still here after the failover.');
    report.push(`agent reply after the failover: ${ms} ms`);
    expect(ms).toBeLessThan(1_000);
  }, 300_000);

  it('fails back to us-east: resync, traffic 10/50/100 %, switchover; nothing lost or doubled, and the widgets keep going', async () => {
    const { a, b } = nodes();
    // us-east comes back: its Kafka (with what it held), an empty Redis, its services.
    const east = groups['us-east'];
    await Promise.all([east.kafka.start(), east.redis.start()]);
    await startRegionServices('us-east');
    const startedAt = Date.now();
    const fence = `${asPostgres()}${pg.bin}/pg_ctl -D ${b.dataDir} -m fast -w stop >&2`;
    const run = await dr(
      'failback',
      ...['--from', 'eu-west', '--from-db', b.url],
      ...['--to', 'us-east', '--to-health', `${east.procs.gateway!.baseUrl}/readyz`],
      ...['--to-db', a.url, '--traffic', '10,50,100', '--soak-ms', '2000'],
      '--hook-resync',
      rejoinHook(a, b),
      '--hook-fence',
      fence,
      '--hook-rejoin',
      rejoinHook(b, a),
      '--hook-dns',
      dnsHook(),
    );
    expect(
      run.steps.map((s) => [s.step, s.ok]),
      run.stderr,
    ).toEqual([
      ['recovered-region-healthy', true],
      ['resync', true],
      ['consistency', true],
      ['shift-10', true],
      ['shift-50', true],
      ['shift-100', true],
      ['switchover', true],
      ['rejoin', true],
      ['notify', true],
    ]);
    const tookMs = Date.now() - startedAt;
    // Back to the steady state: 70/30.
    await exec(process.execPath, [
      '-e',
      `fetch('${front.controlUrl}/dns?from=eu-west&to=us-east&percent=70',{method:'POST'}).then(r=>process.exit(r.ok?0:1))`,
    ]);
    await sleep(DNS_TTL_MS + 3_000);
    const switchedAt = Date.now();
    await eventually(
      () =>
        widgets.every((w) =>
          [...w.sent.values()].some((m) => m.ackedAt !== undefined && m.ackedAt > switchedAt),
        )
          ? true
          : undefined,
      { timeoutMs: 60_000, what: 'every widget to be acknowledged after the failback' },
    );
    await Promise.all(widgets.map((w) => w.stop(30_000)));
    const final = await audit(a.url);
    report.push(
      `| failback | eu-west → us-east 10/50/100 %, then 70/30 | switchover with eu-west's writes fenced | - | ${(tookMs / 1000).toFixed(1)} s (runbook, soak 2 s per step) | - | ${final.lost.length} of ${final.acked.length} | ${final.doubled} | - |`,
    );
    expect(final.lost).toEqual([]);
    expect(final.doubled).toBe(0);
    expect(widgets.flatMap((w) => w.pending())).toEqual([]);
    expect(front.sent['us-east']).toBeGreaterThan(0);
  }, 420_000);
});
