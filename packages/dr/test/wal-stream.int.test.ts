import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectEventually,
  freePort,
  pgQuery,
  startPgCluster,
  type PgCluster,
} from '@parley/testing';
import { stopRestored } from '../src/backup.js';
import { S3Storage } from '../src/storage.js';

/**
 * Continuous WAL archiving without the server's archive_command, as the chart
 * runs it against a server it does not configure: `parley-dr wal-stream`
 * streams through a replication slot into a bucket (moto's S3 server, started
 * by scripts/infra). The streamer is stopped, crashed with its whole process
 * group, and restarted on an empty spool; a restore from the bucket then has
 * every committed row, the last ones from the segment being written.
 */
const exec = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const endpoint = () => {
  const value = process.env.PARLEY_S3_ENDPOINT;
  if (!value)
    throw new Error('PARLEY_S3_ENDPOINT is not set: run through scripts/test (scripts/infra up)');
  return value;
};
process.env.AWS_ACCESS_KEY_ID ??= 'parley-test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'parley-test-secret';
process.env.AWS_REGION ??= 'us-east-1';
const bucket = `parley-wal-${randomUUID().slice(0, 8)}`;
const slot = `parley_wal_${randomUUID().slice(0, 8)}`;
let cluster: PgCluster;
let work = '';
let target = '';
const streams: ChildProcess[] = [];

const env = () => ({
  ...process.env,
  PARLEY_BACKUP_URL: `s3://${bucket}/stream`,
  PARLEY_S3_ENDPOINT: endpoint(),
  PARLEY_PG_REPLICATION_URL: cluster.primary.url,
  PARLEY_PG_BIN: cluster.bin,
});
const s3 = () =>
  new S3Storage({
    bucket,
    prefix: 'stream/',
    client: new S3Client({
      endpoint: endpoint(),
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });

/** `parley-dr wal-stream` in its own process group (so a crash takes pg_receivewal with it), with its log lines. */
function startStream(spool: string): { child: ChildProcess; log: string[] } {
  const child = spawn(
    process.execPath,
    [cli, 'wal-stream', '--spool', spool, '--slot', slot, '--partial-every', '1'],
    { env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  streams.push(child);
  const log: string[] = [];
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    log.push(...lines);
  });
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  return { child, log };
}
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** The primary's WAL position after a commit, and when the stream has flushed past it. */
async function flushedPast(): Promise<void> {
  const lsn = (
    await pgQuery<{ lsn: string }>(cluster.primary.url, 'select pg_current_wal_lsn()::text as lsn')
  )[0]!.lsn;
  // A physical slot's restart_lsn is the position pg_receivewal has flushed (--synchronous).
  await expectEventually(
    async () => {
      const rows = await pgQuery<{ ok: boolean }>(
        cluster.primary.url,
        `select restart_lsn >= '${lsn}'::pg_lsn as ok from pg_replication_slots where slot_name = $1`,
        [slot],
      );
      expect(rows[0]?.ok, `the stream has flushed past ${lsn}`).toBe(true);
    },
    { timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-wal-stream-'));
  const client = new S3Client({ endpoint: endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  // A server with no WAL archiving of its own, as a managed one is to the chart.
  cluster = await startPgCluster({});
  await pgQuery(cluster.primary.url, 'create table notes (name text primary key)');
}, 120_000);
afterAll(async () => {
  for (const child of streams)
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  if (target) {
    await stopRestored(target, { bin: cluster.bin });
    await rm(target, { recursive: true, force: true });
  }
  await cluster?.destroy();
  await rm(work, { recursive: true, force: true });
});

describe('WAL streaming to object storage (parley-dr wal-stream)', () => {
  it('archives through a slot across a stop, a crash and a lost spool; a restore has every committed row', async () => {
    const spool = join(work, 'spool');
    const first = startStream(spool);
    // Streaming, not only started: the new slot holds a position once pg_receivewal is connected.
    await expectEventually(
      async () => {
        const rows = await pgQuery<{ streaming: boolean }>(
          cluster.primary.url,
          `select active and restart_lsn is not null as streaming
             from pg_replication_slots where slot_name = $1`,
          [slot],
        );
        expect(rows[0]?.streaming, first.log.join('\n')).toBe(true);
      },
      { timeoutMs: 20_000 },
    );
    const created = await exec(process.execPath, [cli, 'backup', 'create'], {
      env: env(),
      timeout: 120_000,
    });
    expect(created.stdout).toMatch(/^full-\d{8}T\d{6}Z \d+ bytes/);

    // A finished segment is stored once the server switches to the next.
    await pgQuery(cluster.primary.url, "insert into notes values ('in a finished segment')");
    const file = (
      await pgQuery<{ file: string }>(
        cluster.primary.url,
        'select pg_walfile_name(pg_current_wal_lsn()) as file',
      )
    )[0]!.file;
    await pgQuery(cluster.primary.url, 'select pg_switch_wal()');
    const storage = s3();
    await expectEventually(async () => expect(await storage.list('wal/')).toContain(file), {
      timeoutMs: 20_000,
    });

    // A stop (SIGTERM, as Kubernetes sends) stores the segment being written.
    await pgQuery(cluster.primary.url, "insert into notes values ('before the stop')");
    await flushedPast();
    process.kill(first.child.pid!, 'SIGTERM');
    await exited(first.child);
    expect(first.child.exitCode).toBe(0);
    expect(first.log.some((l) => l.includes('"event":"stopped"'))).toBe(true);
    const partials = (await storage.list('wal/')).filter((n) => n.endsWith('.partial'));
    expect(partials).toHaveLength(1);

    // Written while nothing streams: the slot keeps it on the server.
    await pgQuery(cluster.primary.url, "insert into notes values ('while stopped')");
    const second = startStream(spool);
    await pgQuery(cluster.primary.url, "insert into notes values ('before the crash')");
    await flushedPast();
    // A crash: the streamer and pg_receivewal die at once, and the spool is lost with the pod.
    process.kill(-second.child.pid!, 'SIGKILL');
    await exited(second.child);
    await rm(spool, { recursive: true, force: true });
    await pgQuery(cluster.primary.url, "insert into notes values ('while crashed')");
    await pgQuery(cluster.primary.url, 'select pg_switch_wal()');

    const third = startStream(spool);
    await pgQuery(cluster.primary.url, "insert into notes values ('after the restart')");
    await flushedPast();
    process.kill(third.child.pid!, 'SIGTERM');
    await exited(third.child);
    expect(third.child.exitCode).toBe(0);
    // Finished segments leave the spool once stored, but the newest (where pg_receivewal resumes).
    const left = (await readdir(spool)).filter((n) => /^[0-9A-F]{24}$/.test(n));
    expect(left.length).toBeLessThanOrEqual(1);

    // Not under `work` (0700): the restored server runs as postgres and must reach its directory.
    target = await mkdtemp(join(tmpdir(), 'parley-wal-restored-'));
    const port = await freePort();
    await exec(
      process.execPath,
      [
        cli,
        'backup',
        'restore',
        '--backup-id',
        'latest',
        '--target',
        target,
        '--port',
        String(port),
        '--start',
      ],
      { env: env(), timeout: 180_000 },
    );
    const restoredUrl = Object.assign(new URL(cluster.primary.url), {
      port: String(port),
    }).toString();
    const rows = await pgQuery<{ name: string }>(
      restoredUrl,
      'select name from notes order by name',
    );
    expect(rows.map((r) => r.name).sort()).toEqual(
      [
        'after the restart',
        'before the crash',
        'before the stop',
        'in a finished segment',
        'while crashed',
        'while stopped',
      ].sort(),
    );
    // Nothing of the test's slot stays behind on the server.
    await exec(process.execPath, [cli, 'wal-stream', '--drop-slot', '--slot', slot], {
      env: env(),
    });
    const slots = await pgQuery(
      cluster.primary.url,
      'select 1 from pg_replication_slots where slot_name = $1',
      [slot],
    );
    expect(slots).toHaveLength(0);
    expect(await readFile(join(target, 'postgresql.auto.conf'), 'utf8')).toMatch(/wal-fetch/);
  }, 300_000);
});
