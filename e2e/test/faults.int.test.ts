import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  ResumingWidget,
  freePort,
  pgQuery,
  serviceEntry,
  startFakeLlm,
  startKafkaBroker,
  startPgCluster,
  startRedisServer,
  startServiceProcess,
  startTcpBalancer,
  startToxiproxy,
  type FakeLlm,
  type FaultProxy,
  type KafkaBroker,
  type PgCluster,
  type RedisServer,
  type ServiceProcess,
  type TcpBalancer,
  type ToxiproxyServer,
} from '@parley/testing';

/**
 * Proving resilience with the design's chaos tests and its 30 s recovery
 * target (docs/design/README.md#004-chatbot-resilience-layers): the whole
 * platform as real processes (two gateways behind a balancer, chat, AI,
 * HITL, embedding) on a Postgres
 * primary and replica, Redis, Kafka and a model provider of this test's own,
 * each behind Toxiproxy. Widgets chat without pause while one fault after
 * another is injected: network faults (latency, resets, a one-way cut,
 * bandwidth, a dependency down) and process faults (SIGKILL of each service,
 * a Kafka broker restart, Redis killed, the Postgres primary crashed).
 *
 * For each scenario: no acknowledged message is lost or stored twice, every
 * message sent is answered, the degradation level the AI reports is the one
 * the fault calls for, and the platform is back to healthy and L0 within
 * 30 s of the fault clearing. After a gateway is killed, 99 % of its widgets
 * have resumed within 10 s. The table of scenarios is printed at the end.
 */
const VISITORS = 16;
const ORIGIN = 'http://parley.test';
const ADMIN_TOKEN = 'faults-admin-token-0123456789abcdef';
const SEARCH_TOKEN = 'faults-search-token-0123456789abcdef';
const QUESTIONS = ['What are your opening hours?', 'How much is shipping?', 'hello'];
const HOLD_MS = 6_000;
const RECOVERY_BOUND_MS = 30_000;
const LEVELS = ['L0', 'L1', 'L2', 'L3', 'L4', 'L5'];
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Service = 'gateway-a' | 'gateway-b' | 'chat' | 'ai' | 'hitl' | 'embedding';
const SERVICES: Service[] = ['gateway-a', 'gateway-b', 'chat', 'ai', 'hitl', 'embedding'];
const PACKAGE: Record<Service, `@parley/${string}`> = {
  'gateway-a': '@parley/gateway',
  'gateway-b': '@parley/gateway',
  chat: '@parley/chat',
  ai: '@parley/ai',
  hitl: '@parley/hitl',
  embedding: '@parley/embedding',
};

let toxi: ToxiproxyServer;
let pg: PgCluster;
let redis: RedisServer;
let kafka: KafkaBroker;
let llm: FakeLlm;
let balancer: TcpBalancer;
let db: PgDatabase;
const proxies = {} as Record<'primary' | 'replica' | 'redis' | 'kafka' | 'llm', FaultProxy>;
const ports = {} as Record<Service, number>;
const procs = new Map<Service, ServiceProcess>();
const widgets: ResumingWidget[] = [];
const tenantId = `faults-${randomUUID().slice(0, 8)}`;

/** One row of the printed table. */
interface Row {
  scenario: string;
  detectMs: number | null;
  recoverMs: number;
  levels: string;
  /** Services whose /readyz failed during the fault. */
  unready: string;
  /** Services ready but reporting an optional dependency down. */
  degraded: string;
  messages: number;
  /** Error frames the widgets received during the scenario, by code. */
  errorFrames: string;
  lost: number;
  duplicated: number;
}
const rows: Row[] = [];

function env(service: Service): Record<string, string> {
  const pgUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;
  const common = {
    PORT: String(ports[service]),
    PARLEY_PG_PRIMARY_URL: pgUrl(proxies.primary.port),
    PARLEY_PG_REPLICA_URLS: pgUrl(proxies.replica.port),
    PARLEY_REDIS_URL: `redis://127.0.0.1:${proxies.redis.port}`,
    PARLEY_KAFKA_BROKERS: kafka.brokers,
    PARLEY_KAFKA_TOPIC_PARTITIONS: '6',
    PARLEY_REGION: 'faults',
    PARLEY_ADMIN_TOKEN: ADMIN_TOKEN,
    KNOWLEDGE_SEARCH_TOKEN: SEARCH_TOKEN,
    SHUTDOWN_DEADLINE_MS: '5000',
    LOG_LEVEL: 'info',
    PARLEY_SESSION_SECRET: 'faults-session-secret-0123456789abcdef',
    PARLEY_AGENT_SECRET: 'faults-agent-secret-0123456789abcdef0',
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_SECOND: '100000',
    RATE_LIMIT_CONNECTION_BURST: '1000',
    RATE_LIMIT_CONNECTION_PER_SECOND: '1000',
    WS_HEARTBEAT_INTERVAL_MS: '2000',
  };
  if (service !== 'ai') return common;
  const url = (s: Service, path: string) => `http://127.0.0.1:${ports[s]}${path}`;
  return {
    ...common,
    OPENAI_API_KEY: 'sk-faults-openai',
    OPENAI_BASE_URL: `http://127.0.0.1:${proxies.llm.port}/v1`,
    // Above the 2 s a stalled Redis can add before an answer starts (the
    // response-cache and provider-health reads wait out their command timeout).
    AI_FIRST_TOKEN_TIMEOUT_MS: '3000',
    AI_GENERATION_TIMEOUT_MS: '4000',
    AI_PROVIDER_COOLDOWN_MS: '2000',
    AI_PROBE_INTERVAL_MS: '1000',
    AI_DEGRADATION_INTERVAL_MS: '1000',
    AI_KNOWLEDGE_URL: url('embedding', ''),
    AI_KNOWLEDGE_HEALTH_URL: url('embedding', '/readyz'),
    AI_HUMANS_HEALTH_URL: url('hitl', '/readyz'),
  };
}

async function start(service: Service): Promise<void> {
  procs.set(
    service,
    await startServiceProcess(entry(PACKAGE[service]), {
      env: env(service),
      startTimeoutMs: 60_000,
    }),
  );
}

async function kill(service: Service): Promise<void> {
  await procs.get(service)!.stop('SIGKILL');
}

/** What the platform's own health signals say right now. */
async function health(): Promise<{
  unready: Service[];
  degraded: Service[];
  level: string | undefined;
}> {
  const unready: Service[] = [];
  const degraded: Service[] = [];
  await Promise.all(
    SERVICES.map(async (s) => {
      const report = await fetch(`http://127.0.0.1:${ports[s]}/readyz`, {
        signal: AbortSignal.timeout(1_500),
      }).then(
        async (r) => ({
          ok: r.ok,
          checks: ((await r.json()) as { checks?: Record<string, { status: string }> }).checks,
        }),
        () => undefined,
      );
      if (!report?.ok) unready.push(s);
      // Ready, but an optional dependency (Redis) is down.
      else if (Object.values(report.checks ?? {}).some((c) => c.status !== 'up')) degraded.push(s);
    }),
  );
  const level = await fetch(`http://127.0.0.1:${ports.ai}/admin/system-status`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(1_500),
  })
    .then((r) => r.json() as Promise<{ degradation?: { level: string } }>)
    .then(
      (b) => b.degradation?.level,
      () => undefined,
    );
  return { unready, degraded, level };
}

const green = (h: Awaited<ReturnType<typeof health>>) =>
  h.unready.length === 0 && h.degraded.length === 0 && h.level === 'L0';

/** Acknowledged messages missing from the database, and anything stored twice. */
async function audit(): Promise<{ acked: number; lost: number; duplicated: number }> {
  // What the widgets know first: an ack arriving during the query is checked next time.
  const known = widgets.map((w) => ({
    conversationId: w.conversationId,
    acked: [...w.sent.values()].filter((m) => m.ackedAt !== undefined),
  }));
  const stored = await pgQuery<{
    conversation_id: string;
    client_message_id: string;
    role: string;
    seq: number;
  }>(
    pg.primary.url,
    `select conversation_id, client_message_id, role, seq from messages where tenant_id = $1`,
    [tenantId],
  );
  const ids = new Set(stored.map((m) => `${m.conversation_id}/${m.client_message_id}`));
  let acked = 0;
  let lost = 0;
  for (const w of known)
    for (const m of w.acked) {
      acked++;
      if (!ids.has(`${w.conversationId}/${m.clientMessageId}`)) lost++;
    }
  // The schema makes a second copy impossible (unique client_message_id), so
  // "twice" shows as more replies than questions, or a gap in the numbering.
  let duplicated = 0;
  const byConversation = new Map<string, typeof stored>();
  for (const m of stored)
    byConversation.set(m.conversation_id, [...(byConversation.get(m.conversation_id) ?? []), m]);
  for (const messages of byConversation.values()) {
    const seqs = messages.map((m) => Number(m.seq)).sort((a, b) => a - b);
    if (seqs.some((seq, i) => seq !== i + 1)) duplicated++;
    const users = messages.filter((m) => m.role === 'user').length;
    const replies = messages.filter((m) => m.client_message_id.startsWith('reply:')).length;
    if (replies > users) duplicated += replies - users;
  }
  return { acked, lost, duplicated };
}

/** A fault: injected, held for HOLD_MS (or as long as `inject` takes), then cleared. */
interface Scenario {
  name: string;
  inject(): Promise<void>;
  clear(): Promise<void>;
  /**
   * The degradation level the fault calls for (the design's L0 to L5,
   * docs/design/README.md#degradation-levels); every other level seen fails.
   */
  level: string;
  holdMs?: number;
}

async function runScenario(s: Scenario): Promise<Row> {
  const startedAt = Date.now();
  // Each scenario starts from a healthy platform at L0.
  const healthyBy = Date.now() + 60_000;
  while (!green(await health())) {
    if (Date.now() > healthyBy) throw new Error(`not healthy before ${s.name}`);
    await sleep(250);
  }
  const errorsBefore = widgets.map((w) => w.errors.length);
  const injectedAt = Date.now();
  await s.inject();
  let detectedAt: number | undefined;
  const levels = new Set<string>();
  const unready = new Set<Service>();
  const degraded = new Set<Service>();
  while (Date.now() - injectedAt < (s.holdMs ?? HOLD_MS)) {
    const h = await health();
    if (!green(h)) detectedAt ??= Date.now();
    for (const u of h.unready) unready.add(u);
    for (const d of h.degraded) degraded.add(d);
    if (h.level) levels.add(h.level);
    await sleep(200);
  }
  const clearedAt = Date.now();
  await s.clear();
  // This scenario's messages: an earlier one left unanswered failed its own scenario.
  const sentBefore = widgets
    .flatMap((w) => [...w.sent.values()])
    .filter((m) => m.sentAt < clearedAt && (m.sentAt >= startedAt || m.answeredAt === undefined))
    .filter((m) => m.answeredAt === undefined || m.answeredAt >= startedAt);
  let recoveredAt: number | undefined;
  let last: Awaited<ReturnType<typeof health>> | undefined;
  while (Date.now() - clearedAt < 60_000) {
    const h = (last = await health());
    if (h.level) levels.add(h.level);
    if (green(h) && sentBefore.every((m) => m.answeredAt !== undefined)) {
      recoveredAt = Date.now();
      break;
    }
    await sleep(200);
  }
  const { lost, duplicated } = await audit();
  // Error frames the widgets got (each retried, as the protocol asks), by code.
  const codes = new Map<string, number>();
  widgets.forEach((w, i) => {
    for (const code of w.errors.slice(errorsBefore[i])) codes.set(code, (codes.get(code) ?? 0) + 1);
  });
  const row: Row = {
    scenario: s.name,
    detectMs: detectedAt === undefined ? null : detectedAt - injectedAt,
    recoverMs: (recoveredAt ?? Number.POSITIVE_INFINITY) - clearedAt,
    levels: LEVELS.filter((l) => levels.has(l)).join(' '),
    unready: SERVICES.filter((u) => unready.has(u)).join(' ') || '-',
    degraded: SERVICES.filter((d) => degraded.has(d) && !unready.has(d)).join(' ') || '-',
    messages: sentBefore.length,
    errorFrames: [...codes].map(([code, n]) => `${code} ×${n}`).join(', ') || '-',
    lost,
    duplicated,
  };
  rows.push(row);
  // FAULTS_DUMP_LOGS=<dir>: every service's log lines so far, after each scenario.
  if (process.env.FAULTS_DUMP_LOGS)
    for (const [name, proc] of procs)
      writeFileSync(
        `${process.env.FAULTS_DUMP_LOGS}/${name}.log`,
        proc.logs.map((l) => JSON.stringify(l)).join('\n'),
      );
  if (recoveredAt === undefined) {
    console.log(
      `${s.name}: still ${JSON.stringify(last)}, unanswered: ${JSON.stringify(sentBefore.filter((m) => m.answeredAt === undefined))}`,
    );
    // What the services complained of since the fault: the first place to look.
    for (const [name, proc] of procs)
      for (const line of proc.logs
        .filter((l) => l.level === 'warn' || l.level === 'error')
        .filter((l) => Date.parse(String(l.time)) >= injectedAt)
        .slice(-6))
        console.log(name, JSON.stringify(line).slice(0, 400));
  }
  console.log(JSON.stringify(row));
  expect(
    sentBefore.filter((m) => m.answeredAt === undefined),
    'unanswered messages',
  ).toEqual([]);
  expect(lost, 'acknowledged messages lost').toBe(0);
  expect(duplicated, 'messages stored twice').toBe(0);
  expect(row.recoverMs, 'back to healthy and L0').toBeLessThanOrEqual(RECOVERY_BOUND_MS);
  expect(levels, 'the degradation level matches the fault').toEqual(
    new Set(s.level === 'L0' ? ['L0'] : ['L0', s.level]),
  );
  return row;
}

/** A network fault on one proxy, healed afterwards. */
const network = (
  name: string,
  proxy: keyof typeof proxies,
  level: string,
  inject: (p: FaultProxy) => Promise<void>,
): Scenario => ({
  name,
  level,
  inject: () => inject(proxies[proxy]),
  clear: () => proxies[proxy].heal(),
});

/** SIGKILL of a service; restarted on the same port after `downMs`, as Kubernetes would. */
const killed = (service: Service, level: string, downMs = 3_000): Scenario => ({
  name: `SIGKILL ${service}`,
  level,
  holdMs: downMs,
  inject: () => kill(service),
  clear: () => start(service),
});

beforeAll(async () => {
  toxi = await startToxiproxy();
  [pg, redis, llm] = await Promise.all([startPgCluster(), startRedisServer(), startFakeLlm()]);
  const kafkaPort = await freePort();
  kafka = await startKafkaBroker({ advertisedPort: kafkaPort });
  proxies.primary = await toxi.proxy('postgres-primary', pg.primary.port);
  proxies.replica = await toxi.proxy('postgres-replica', pg.replica.port);
  proxies.redis = await toxi.proxy('redis', redis.port);
  proxies.kafka = await toxi.proxy('kafka', kafka.port, kafkaPort);
  proxies.llm = await toxi.proxy('llm', Number(new URL(llm.baseUrl).port));
  for (const s of SERVICES) ports[s] = await freePort();

  db = new PgDatabase({ primaryUrl: pg.primary.url, replicaUrls: [] });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [ORIGIN],
  });
  // The dependencies first (AI checks them), then the gateways.
  await Promise.all([start('chat'), start('hitl'), start('embedding')]);
  await start('ai');
  await Promise.all([start('gateway-a'), start('gateway-b')]);
  balancer = await startTcpBalancer(() => [ports['gateway-a'], ports['gateway-b']]);
  for (let i = 0; i < VISITORS; i++) {
    const widget = new ResumingWidget(balancer.url, {
      widgetKey: `pk_${tenantId}`,
      origin: ORIGIN,
      questions: QUESTIONS,
      thinkMs: 300,
    });
    await widget.start();
    widgets.push(widget);
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(widgets.map((w) => w.stop(1_000)));
  await Promise.all([...procs.values()].map((p) => p.stop('SIGTERM')));
  await balancer?.close();
  await db?.close();
  await Promise.all([kafka?.destroy(), redis?.destroy(), pg?.destroy(), llm?.close()]);
  await toxi?.stop();
  if (rows.length) {
    const fmt = (ms: number | null) =>
      ms === null ? '-' : Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'never';
    console.log(
      [
        '| scenario | detected after | recovered after | levels seen | not ready | degraded | messages | error frames | lost | doubled |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        ...rows.map(
          (r) =>
            `| ${r.scenario} | ${fmt(r.detectMs)} | ${fmt(r.recoverMs)} | ${r.levels} | ${r.unready} | ${r.degraded} | ${r.messages} | ${r.errorFrames} | ${r.lost} | ${r.duplicated} |`,
        ),
      ].join('\n'),
    );
  }
}, 120_000);

const scenarios: Scenario[] = [
  network('postgres primary +200 ms latency', 'primary', 'L0', (p) => p.latency(200)),
  network('postgres primary connections reset', 'primary', 'L2', (p) => p.resetPeer()),
  network('redis one-way cut', 'redis', 'L0', (p) => p.cutOneWay()),
  network('redis unreachable', 'redis', 'L0', (p) => p.down()),
  network('kafka +300 ms latency', 'kafka', 'L0', (p) => p.latency(300)),
  network('kafka 8 KB/s bandwidth', 'kafka', 'L0', (p) => p.bandwidth(8)),
  network('kafka connections reset', 'kafka', 'L2', (p) => p.resetPeer()),
  network('model provider times out', 'llm', 'L1', (p) => p.timeout(0)),
  network('model provider unreachable', 'llm', 'L1', (p) => p.down()),
  killed('chat', 'L0'),
  killed('ai', 'L0'),
  killed('hitl', 'L0'),
  killed('embedding', 'L2'),
  killed('gateway-b', 'L0'),
  {
    name: 'kafka broker restart',
    level: 'L2',
    holdMs: 3_000,
    inject: () => kafka.kill(),
    clear: () => kafka.start(),
  },
  {
    name: 'redis process killed',
    level: 'L0',
    inject: () => redis.kill(),
    clear: () => redis.start(),
  },
  {
    name: 'postgres primary crashed',
    level: 'L2',
    inject: () => pg.crash(pg.primary),
    clear: () => pg.start(pg.primary),
  },
];

describe('faults while widgets chat', () => {
  for (const scenario of scenarios)
    it(`survives: ${scenario.name}`, async () => {
      const before = Date.now();
      await runScenario(scenario);
      if (scenario.name === 'SIGKILL gateway-b') {
        // The killed gateway's widgets: their sockets closed at the kill.
        const moved = widgets.flatMap((w) => w.reconnects.filter((r) => r.closedAt >= before));
        expect(moved.length).toBeGreaterThan(0);
        const resumed = moved.filter(
          (r) => r.resumedAt !== undefined && r.resumedAt - r.closedAt <= 10_000,
        );
        const slowest = Math.max(...moved.map((r) => (r.resumedAt ?? Infinity) - r.closedAt));
        console.log(
          `gateway killed: ${resumed.length} of ${moved.length} widgets resumed within 10 s (slowest ${slowest} ms)`,
        );
        expect(resumed.length / moved.length, '99 % resumed within 10 s').toBeGreaterThanOrEqual(
          0.99,
        );
      }
    }, 180_000);

  it('lost nothing acknowledged and answered everything in the whole run', async () => {
    await Promise.all(widgets.map((w) => w.stop(30_000)));
    const { acked, lost, duplicated } = await audit();
    expect(acked).toBeGreaterThan(100);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(widgets.flatMap((w) => w.pending())).toEqual([]);
  }, 60_000);
});
