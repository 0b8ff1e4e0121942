import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  eventually,
  expectEventually,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from '@parley/testing';

/**
 * The status page and the synthetic probe on real infrastructure: gateway,
 * chat and AI as processes on the shared Kafka, Postgres and Redis (a topic,
 * groups and region of their own, so their status board is theirs alone).
 */
const TOKEN = 'operator-token-0123456789abcdef';
const ORIGIN = 'http://probe.parley.test';
const run = randomUUID().slice(0, 8);
const require = createRequire(import.meta.url);
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
const PROBE_CLI = join(dirname(require.resolve('@parley/probe')), 'cli.js');
const WIDGET_KEY = `pk_probe_${run}`;

let db: PgDatabase;
let gateway: ServiceProcess;
const procs: ServiceProcess[] = [];
let pushgateway: Server;
const pushed: string[] = [];

const env = () => ({
  ...serviceEnv({ isolate: run }),
  PARLEY_ADMIN_TOKEN: TOKEN,
  STATUS_COMPONENTS: 'gateway,chat,ai',
  RATE_LIMIT_IP_BURST: '10000',
  RATE_LIMIT_IP_PER_SECOND: '10000',
});

beforeAll(async () => {
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: `probe-${run}`,
    name: 'Synthetic probe',
    widgetKey: WIDGET_KEY,
    allowedOrigins: [ORIGIN],
  });
  // The gateway first: its board listens before the others' first reports.
  gateway = await startServiceProcess(entry('@parley/gateway'), {
    env: env(),
    startTimeoutMs: 60_000,
  });
  procs.push(gateway);
  procs.push(
    ...(await Promise.all([
      startServiceProcess(entry('@parley/chat'), { env: env(), startTimeoutMs: 60_000 }),
      startServiceProcess(entry('@parley/ai'), { env: env(), startTimeoutMs: 60_000 }),
    ])),
  );
  // A stand-in Pushgateway on loopback that records what it is sent.
  pushgateway = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pushed.push(`${req.method} ${req.url}\n${body}`);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => pushgateway.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  pushgateway?.close();
  await db?.close();
});

interface StatusJson {
  stale: boolean;
  overall: string;
  level: { level: string } | null;
  components: Array<{ id: string; state: string; detail?: string }>;
  incidents: Array<{ id: string; title: string; status: string; updates: Array<{ text: string }> }>;
}

const status = async () =>
  (await (await fetch(`${gateway.baseUrl}/status.json`)).json()) as StatusJson;

/** Runs `parley-probe` as the CronJob does, with its variables. */
function probe(
  extra: Record<string, string>,
): Promise<{ code: number; result: Record<string, unknown> }> {
  const port = (pushgateway.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [PROBE_CLI],
      {
        env: {
          PATH: process.env.PATH ?? '',
          PROBE_URL: gateway.baseUrl,
          PROBE_WIDGET_KEY: WIDGET_KEY,
          PROBE_ORIGIN: ORIGIN,
          PROBE_QUESTION: 'What are your opening hours?',
          PROBE_PUSHGATEWAY_URL: `http://127.0.0.1:${port}`,
          PARLEY_ADMIN_TOKEN: TOKEN,
          ...extra,
        },
        timeout: 60_000,
      },
      (err, stdout) => {
        const code = err ? ((err as { code?: number }).code ?? -1) : 0;
        try {
          resolve({ code, result: JSON.parse(stdout) as Record<string, unknown> });
        } catch {
          reject(new Error(`probe printed no JSON line (exit ${code}): ${stdout}`));
        }
      },
    );
  });
}

const probeSuccess = async () => {
  const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
  return /\nparley_probe_success\{[^}]*component="synthetic-chat"[^}]*\} (\d)/.exec(metrics)?.[1];
};

describe('the status page on real infrastructure', () => {
  it('shows every component from its own reports, and the AI level', async () => {
    const doc = await eventually(
      async () => {
        const s = await status();
        return s.components.every((c) => c.state === 'operational') && s.level ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'every component operational' },
    );
    expect(doc.components.map((c) => c.id)).toEqual(['gateway', 'chat', 'ai']);
    expect(doc.level?.level).toBe('L0');
    expect(doc.overall).toBe('operational');
    expect(doc.stale).toBe(false);
    // The public document names no instance, host or dependency.
    expect(JSON.stringify(doc)).not.toMatch(/instance|127\.0\.0\.1|redis|postgres|kafka/i);
    const html = await (await fetch(`${gateway.baseUrl}/status`)).text();
    expect(html).toContain('data-component="chat" data-state="operational"');
  });

  it('runs the probe end to end: success, latencies, pushed metrics, and the gateway shows it', async () => {
    const { code, result } = await probe({ PROBE_EXPECT: 'Monday to Friday' });
    expect(code).toBe(0);
    expect(result).toMatchObject({ success: true, pushed: true, reported: true });
    const latency = result.latencySeconds as Record<string, number>;
    for (const phase of ['session', 'connect', 'firstToken', 'answer', 'total'])
      expect(latency[phase], phase).toBeGreaterThan(0);
    expect(pushed.at(-1)).toMatch(/^PUT \/metrics\/job\/parley_probe\n/);
    expect(pushed.at(-1)).toContain('\nparley_probe_success 1\n');
    expect(pushed.at(-1)).toMatch(/parley_probe_latency_seconds\{phase="answer"\} [0-9.]+/);

    expect(await probeSuccess()).toBe('1');
    const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/parley_probe_latency_seconds\{[^}]*phase="total"[^}]*\} [0-9.]+/);
    expect(metrics).toMatch(/parley_probe_last_run_timestamp_seconds\{[^}]*\} \d+/);
    // The page is rendered at most once a second: the next rendering shows the run.
    await expectEventually(async () => {
      const row = (await status()).components.find((c) => c.id === 'synthetic-chat');
      expect(row).toMatchObject({ state: 'operational' });
      expect(row?.detail).toMatch(/answered in [0-9.]+ s$/);
    });
  });

  it('fails the probe when the answer does not match: exit 1, success 0 pushed and on the gateway', async () => {
    const { code, result } = await probe({ PROBE_EXPECT_REGEX: '^we never say this$' });
    expect(code).toBe(1);
    expect(result).toMatchObject({
      success: false,
      error: 'PROBE_ERR_ANSWER_MISMATCH',
      pushed: true,
      reported: true,
    });
    expect(pushed.at(-1)).toContain('\nparley_probe_success 0\n');
    expect(await probeSuccess()).toBe('0');
    await expectEventually(async () => {
      const doc = await status();
      expect(doc.components.find((c) => c.id === 'synthetic-chat')?.state).toBe('outage');
      expect(doc.overall).toBe('partial_outage');
    });
  });

  it('lets an operator open, update and resolve an incident with the playbook templates; refuses without the token', async () => {
    const call = (method: string, path: string, body?: unknown, token: string | null = TOKEN) =>
      fetch(`${gateway.baseUrl}${path}`, {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const open = { title: `Slow answers ${run}`, components: ['ai'], template: 'investigating' };

    for (const token of [null, 'operator-token-but-not-the-right-one']) {
      const res = await call('POST', '/admin/incidents', open, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'GW_ERR_UNAUTHORIZED' });
    }
    expect((await call('GET', '/admin/incidents', undefined, null)).status).toBe(401);

    const bad = await call('POST', '/admin/incidents', { ...open, template: 'resolved' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'GW_ERR_INCIDENT_TEMPLATE' });
    expect((await call('POST', '/admin/incidents', { ...open, components: ['moon'] })).status).toBe(
      400,
    );

    const created = await call('POST', '/admin/incidents', open);
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const updated = await call('POST', `/admin/incidents/${id}/updates`, {
      template: 'update',
      params: { eta: '30 minutes' },
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ status: 'identified' });

    let page = await status();
    const shown = page.incidents.find((i) => i.id === id);
    expect(shown).toMatchObject({ title: open.title, status: 'identified' });
    expect(shown!.updates[0]!.text).toContain('We expect full service within 30 minutes.');

    const resolve = () =>
      call('POST', `/admin/incidents/${id}/resolve`, {
        template: 'resolved',
        params: { cause: 'a slow provider', resolution: 'failing over' },
      });
    expect((await resolve()).status).toBe(200);
    const again = await resolve();
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'GW_ERR_INCIDENT_RESOLVED' });
    const missing = await call('POST', `/admin/incidents/${randomUUID()}/resolve`, {
      template: 'resolved',
      params: { cause: 'a', resolution: 'b' },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'GW_ERR_INCIDENT_NOT_FOUND' });

    page = await status();
    expect(page.incidents.find((i) => i.id === id)).toMatchObject({ status: 'resolved' });
    const list = (await (await call('GET', '/admin/incidents')).json()) as {
      incidents: Array<{ id: string; updates: unknown[] }>;
    };
    expect(list.incidents.find((i) => i.id === id)?.updates).toHaveLength(3);
  });
});
