import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import { pgQuery, startPgCluster, type PgCluster } from '@parley/testing';

/**
 * The regional runbook as `parley-dr region failover|failback` on a real
 * primary (us-east) and its replica (us-west-dr): region health behind two
 * loopback servers, DNS, re-pointing, fencing and status page as hooks that
 * write to a log, rejoins by the real `parley-dr failover rejoin`.
 */
const exec = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
let cluster: PgCluster;
let work: string;
/** What each region's /readyz says: a status code, or `critical` (200, ready, an essential dependency down). */
const health: Record<'east' | 'west', number | 'critical'> = { east: 200, west: 200 };
const servers: Server[] = [];
const urls = { east: '', west: '' };
const tenantId = `region-${randomUUID().slice(0, 8)}`;

async function serve(region: 'east' | 'west'): Promise<string> {
  const server = createServer((_req, res) => {
    const h = health[region];
    // Pods stay ready when a shared dependency (the Postgres primary) is lost; the state says it.
    if (h === 'critical')
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ready', state: 'critical', checks: {} }));
    else res.writeHead(h).end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/readyz`;
}

async function message(url: string, text: string, seq: number): Promise<void> {
  const db = new PgDatabase({ primaryUrl: url });
  try {
    const store = new ConversationStore(db);
    await store.appendMessage({
      tenantId,
      conversationId: 'c-1',
      visitorId: 'v-1',
      channel: 'web',
      role: 'user',
      messageId: randomUUID(),
      clientMessageId: `m-${seq}`,
      eventId: randomUUID(),
      text,
      receivedAt: new Date(),
    });
  } finally {
    await db.close();
  }
}

const role = async (url: string) =>
  (await pgQuery<{ r: boolean }>(url, 'select pg_is_in_recovery() as r'))[0]?.r
    ? 'replica'
    : 'primary';

function dr(...args: string[]) {
  return exec(process.execPath, [cli, 'region', ...args], {
    env: { ...process.env, PARLEY_PG_BIN: cluster.bin },
    timeout: 180_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}
const steps = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: string; ok: boolean; detail: string; ms: number });

beforeAll(async () => {
  cluster = await startPgCluster();
  work = await mkdtemp(join(tmpdir(), 'parley-region-'));
  urls.east = await serve('east');
  urls.west = await serve('west');
  const db = new PgDatabase({ primaryUrl: cluster.primary.url });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: ['http://parley.test'],
  });
  await db.close();
  await message(cluster.primary.url, 'before the outage', 1);
}, 120_000);
afterAll(async () => {
  for (const s of servers) s.close();
  await cluster?.destroy();
  await rm(work, { recursive: true, force: true });
});

describe('parley-dr region', () => {
  const log = () => join(work, 'hooks.log');
  const hooks = () => [
    '--hook-dns',
    `echo "dns $PARLEY_REGION_TO $PARLEY_TRAFFIC_PERCENT" >> ${log()}`,
    '--hook-notify',
    `cat >> ${log()}`,
  ];
  const failover = (...extra: string[]) =>
    dr(
      'failover',
      ...['--from', 'us-east', '--from-health', urls.east, '--from-db', cluster.primary.url],
      ...['--to', 'us-west-dr', '--to-health', urls.west, '--to-db', cluster.replica.url],
      ...['--probes', '2', '--confirm-ms', '200'],
      '--hook-repoint',
      `echo "repoint $PARLEY_REGION_TO" >> ${log()}`,
      '--hook-scale',
      `echo "scale $PARLEY_REGION_TO" >> ${log()}`,
      '--hook-fence',
      `echo "fence $PARLEY_REGION_FROM" >> ${log()}`,
      ...hooks(),
      ...extra,
    );

  it('refuses to fail over while the primary region answers, and while the replica is too far behind the outage', async () => {
    const noDns = await dr(
      'failover',
      ...['--from', 'us-east', '--from-health', urls.east, '--from-db', cluster.primary.url],
      ...['--to', 'us-west-dr', '--to-db', cluster.replica.url],
    );
    expect(noDns.code).toBe(1);
    expect(steps(noDns.stdout)).toEqual([
      expect.objectContaining({ step: 'preflight', ok: false }),
    ]);
    const up = await failover();
    expect(up.code).toBe(1);
    expect(steps(up.stdout)).toEqual([
      expect.objectContaining({ step: 'primary-region-down', ok: false }),
    ]);
    expect(up.stderr).toContain('us-east answered its health check');

    // us-east's pods still answer, ready, but report their Postgres primary lost.
    health.east = 'critical';
    await cluster.crash(cluster.primary);
    const later = new Date(Date.now() + 120_000).toISOString();
    const behind = await failover('--down-since', later);
    expect(behind.code).toBe(1);
    expect(steps(behind.stdout).map((s) => [s.step, s.ok])).toEqual([
      ['primary-region-down', true],
      ['standby-replica-ready', false],
    ]);
    expect(behind.stderr).toContain('older than the outage (limit 30 s)');
    expect(await role(cluster.replica.url)).toBe('replica');
  });

  it('fails over: outage confirmed, replica checked, promoted, re-pointed, scaled, all traffic moved, status page told', async () => {
    const run = await failover();
    expect(run.stderr).toMatch(/region failover: done in \d+ ms/);
    const done = steps(run.stdout);
    expect(done.map((s) => [s.step, s.ok])).toEqual([
      ['primary-region-down', true],
      ['standby-replica-ready', true],
      ['fence', true],
      ['promote', true],
      ['repoint', true],
      ['scale-up', true],
      ['dns', true],
      ['notify', true],
    ]);
    console.log(
      `region failover: ${done.map((s) => `${s.step} ${s.ms} ms`).join(', ')}; total ${done.reduce((n, s) => n + s.ms, 0)} ms`,
    );
    expect(await role(cluster.replica.url)).toBe('primary');
    const hooksRan = await readFile(log(), 'utf8');
    expect(hooksRan).toContain(
      'fence us-east\nrepoint us-west-dr\nscale us-west-dr\ndns us-west-dr 100\n[DEGRADED] Parley chat: regional failover',
    );
    await message(cluster.replica.url, 'during the outage, in us-west-dr', 2);
  });

  it('fails back: resync, same data on both sides, traffic 10/50/100 %, switchover with writes fenced, the standby a replica again', async () => {
    health.east = 200;
    const asPg = process.getuid?.() === 0 ? 'runuser -u postgres -- ' : '';
    const node = `${process.execPath} ${cli}`;
    const run = await dr(
      'failback',
      ...['--from', 'us-west-dr', '--from-db', cluster.replica.url],
      ...['--to', 'us-east', '--to-health', urls.east, '--to-db', cluster.primary.url],
      ...['--traffic', '10,50,100', '--soak-ms', '300'],
      '--hook-resync',
      `${node} failover rejoin --data-dir ${cluster.primary.dataDir} --source ${cluster.replica.url} --start >&2`,
      '--hook-fence',
      `echo "fence $PARLEY_REGION_FROM" >> ${log()} && ${asPg}${cluster.bin}/pg_ctl -D ${cluster.replica.dataDir} -m fast -w stop >&2`,
      '--hook-rejoin',
      `${node} failover rejoin --data-dir ${cluster.replica.dataDir} --source ${cluster.primary.url} --start >&2`,
      ...hooks(),
    );
    expect(run.stderr).toMatch(/region failback: done in \d+ ms/);
    expect(steps(run.stdout).map((s) => [s.step, s.ok])).toEqual([
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
    expect(await role(cluster.primary.url)).toBe('primary');
    expect(await role(cluster.replica.url)).toBe('replica');
    // What was written in us-west-dr during the outage is in us-east now.
    const texts = await pgQuery<{ text: string }>(
      cluster.primary.url,
      `select text from messages where tenant_id = '${tenantId}' order by seq`,
    );
    expect(texts.map((t) => t.text)).toEqual([
      'before the outage',
      'during the outage, in us-west-dr',
    ]);
    const hooksRan = await readFile(log(), 'utf8');
    expect(hooksRan).toContain(
      'dns us-east 10\ndns us-east 50\ndns us-east 100\nfence us-west-dr\n',
    );
    expect(hooksRan).toContain('[RESOLVED] Parley chat');
  });
});
