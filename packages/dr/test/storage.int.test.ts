import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, pgQuery, startPgCluster, type PgCluster } from '@parley/testing';
import { stopRestored } from '../src/backup.js';
import { DirectoryStorage, S3Storage, type BackupStorage } from '../src/storage.js';

/**
 * Backup storage: the same behaviour from a local directory and from
 * S3-compatible object storage (moto's server, started by scripts/infra);
 * then a point-in-time restore whose WAL went to the bucket through
 * `parley-dr wal-push` and comes back through `wal-fetch`.
 */
const exec = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const endpoint = () => {
  const value = process.env.PARLEY_S3_ENDPOINT;
  if (!value)
    throw new Error('PARLEY_S3_ENDPOINT is not set: run through scripts/test (scripts/infra up)');
  return value;
};
// moto takes any credentials; the SDK reads these from the environment.
process.env.AWS_ACCESS_KEY_ID ??= 'parley-test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'parley-test-secret';
process.env.AWS_REGION ??= 'us-east-1';
const bucket = `parley-${randomUUID().slice(0, 8)}`;
let work = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-storage-'));
  const client = new S3Client({ endpoint: endpoint(), forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const kinds: Array<[string, () => BackupStorage]> = [
  ['a local directory', () => new DirectoryStorage(join(work, `dir-${randomUUID()}`))],
  [
    'S3-compatible object storage',
    () =>
      new S3Storage({
        bucket,
        prefix: `run-${randomUUID().slice(0, 8)}/`,
        client: new S3Client({
          endpoint: endpoint(),
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
      }),
  ],
];

describe.each(kinds)('backup storage in %s', (_, make) => {
  it('stores files and texts by key, lists one level, sizes and dates them, removes a whole prefix', async () => {
    const storage = make();
    const file = join(work, `file-${randomUUID()}`);
    // 12 MB: uploaded to object storage in parts.
    await writeFile(file, Buffer.from(Array.from({ length: 12 << 20 }, (_, i) => (i * 31) % 251)));
    await storage.put('base/full-1/base.tar.gz', file);
    await storage.put('base/full-10/base.tar.gz', file);
    await storage.putText('base/full-1/manifest.json', '{"id":"full-1"}');
    await storage.put('wal/000000010000000000000001', file);

    expect(await storage.list('base/')).toEqual(['full-1', 'full-10']);
    expect(await storage.list('wal/')).toEqual(['000000010000000000000001']);
    expect(await storage.list('redis/')).toEqual([]);
    expect(await storage.getText('base/full-1/manifest.json')).toBe('{"id":"full-1"}');
    expect(await storage.getText('base/full-2/manifest.json')).toBeNull();
    expect(await storage.size('base/full-1/base.tar.gz')).toBe(12 << 20);
    const at = await storage.storedAt('wal/000000010000000000000001');
    expect(Math.abs(at.getTime() - Date.now())).toBeLessThan(60_000);

    const back = join(work, `back-${randomUUID()}`);
    await storage.fetch('base/full-1/base.tar.gz', back);
    expect((await readFile(back)).equals(await readFile(file))).toBe(true);

    // full-1 goes, full-10 (same start of name) stays.
    await storage.remove('base/full-1');
    expect(await storage.list('base/')).toEqual(['full-10']);
    await expect(storage.fetch('base/full-1/base.tar.gz', back)).rejects.toThrow();
    await expect(storage.putText('../escape', 'x')).rejects.toThrow(/bad key/);
  });
});

describe('point-in-time restore with WAL and backups in object storage', () => {
  let cluster: PgCluster;
  const env = () => ({
    ...process.env,
    PARLEY_BACKUP_URL: `s3://${bucket}/pitr`,
    PARLEY_S3_ENDPOINT: endpoint(),
    PARLEY_PG_REPLICATION_URL: cluster.primary.url,
    PARLEY_PG_BIN: cluster.bin,
  });
  const archived = async () =>
    (
      await pgQuery<{ n: string }>(
        cluster.primary.url,
        'select archived_count::text as n from pg_stat_archiver',
      )
    )[0]!.n;
  let target = '';

  beforeAll(async () => {
    // The server runs archive_command with this environment (it inherits ours).
    Object.assign(process.env, {
      PARLEY_BACKUP_URL: `s3://${bucket}/pitr`,
      PARLEY_S3_ENDPOINT: endpoint(),
    });
    cluster = await startPgCluster({
      primarySettings: [
        'archive_mode = on',
        `archive_command = '"${process.execPath}" "${cli}" wal-push %p %f'`,
      ],
    });
  }, 120_000);
  afterAll(async () => {
    if (target) {
      await stopRestored(target, { bin: cluster.bin });
      await rm(target, { recursive: true, force: true });
    }
    await cluster?.destroy();
    delete process.env.PARLEY_BACKUP_URL;
  });

  it('archives WAL to the bucket, backs up there, and restores to a point in time from it', async () => {
    await pgQuery(cluster.primary.url, 'create table notes (id int primary key)');
    await pgQuery(cluster.primary.url, 'insert into notes values (1)');
    const created = await exec(process.execPath, [cli, 'backup', 'create'], {
      env: env(),
      timeout: 120_000,
    });
    expect(created.stdout).toMatch(/^full-\d{8}T\d{6}Z \d+ bytes/);
    await pgQuery(cluster.primary.url, 'insert into notes values (2)');
    await new Promise((r) => setTimeout(r, 1_100));
    const pointInTime = new Date();
    await new Promise((r) => setTimeout(r, 1_100));
    await pgQuery(cluster.primary.url, 'insert into notes values (3)');
    await pgQuery(cluster.primary.url, 'delete from notes where id = 1');
    const before = Number(await archived());
    await pgQuery(cluster.primary.url, 'select pg_switch_wal()');
    await eventually(async () => (Number(await archived()) > before ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the WAL segment to be archived through wal-push',
    });

    const port = await freePort();
    // Its own folder under /tmp: the server's user must reach it.
    target = join(tmpdir(), `parley-s3-restore-${randomUUID().slice(0, 8)}`);
    const restored = await exec(
      process.execPath,
      [
        cli,
        'backup',
        'restore',
        '--backup-id',
        'latest',
        '--to-time',
        pointInTime.toISOString(),
        '--target',
        target,
        '--port',
        String(port),
        '--start',
      ],
      { env: env(), timeout: 120_000 },
    );
    expect(restored.stdout).toContain(`up to ${pointInTime.toISOString()}`);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const rows = await eventually(
      async () => {
        const [r] = await pgQuery<{ r: boolean }>(url, 'select pg_is_in_recovery() as r');
        return r?.r === false
          ? pgQuery<{ id: number }>(url, 'select id from notes order by id')
          : undefined;
      },
      { timeoutMs: 60_000, what: 'the restored server to promote' },
    );
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
  }, 180_000);
});
