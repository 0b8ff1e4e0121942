import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, infraEnv } from '@parley/testing';
import {
  createBackup,
  findBackup,
  listBackups,
  restoreBackup,
  startRestored,
  stopRestored,
} from '../src/backup.js';
import { DirectoryStorage } from '../src/storage.js';

/**
 * A restore drill on the test Postgres (continuous WAL archiving is on,
 * `scripts/infra`): a base backup, more writes, a point in time, then data
 * lost after it; restoring to that point brings back exactly what was there.
 */
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through scripts/test (scripts/infra up)`);
  return value;
};
const table = `dr_drill_${randomUUID().slice(0, 8)}`;
let storage: DirectoryStorage;
let db: pg.Client;
let target = '';
const tools = () => ({ bin: env('PARLEY_PG_BIN') });

beforeAll(async () => {
  storage = new DirectoryStorage(env('PARLEY_BACKUP_DIR'));
  db = new pg.Client({ connectionString: infraEnv().pgPrimaryUrl });
  await db.connect();
  await db.query(
    `create table ${table} (name text primary key, at timestamptz not null default now())`,
  );
  target = await mkdtemp(join(tmpdir(), 'parley-restored-'));
});
afterAll(async () => {
  if (target) {
    await stopRestored(target, tools());
    if (!process.env.DR_KEEP) await rm(target, { recursive: true, force: true });
  }
  await db?.query(`drop table if exists ${table}`);
  await db?.end();
});

/** Closes the current WAL segment and waits until the archive has it. */
async function archived(): Promise<void> {
  const { rows } = await db.query<{ file: string }>(
    'select pg_walfile_name(pg_current_wal_lsn()) as file',
  );
  await db.query('select pg_switch_wal()');
  const file = join(env('PARLEY_BACKUP_DIR'), 'wal', rows[0]!.file);
  for (let i = 0; i < 100; i++) {
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${rows[0]!.file} was not archived`);
}

describe('backups and point-in-time restore', () => {
  it('restores to a point in time: what was written before it, and nothing after', async () => {
    await db.query(`insert into ${table} (name) values ('before the backup')`);
    const backup = await createBackup(storage, {
      replicationUrl: env('PARLEY_PG_REPLICATION_URL'),
      tools: tools(),
    });
    expect(backup.id).toMatch(/^full-\d{8}T\d{6}Z$/);
    // The data files with the WAL they need (`-X fetch`), and Postgres's own manifest.
    expect(backup.files.map((f) => f.name)).toEqual(['backup_manifest', 'base.tar.gz']);
    expect(backup.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.size > 0)).toBe(true);
    expect((await listBackups(storage)).at(-1)!.id).toBe(backup.id);
    expect((await findBackup(storage, 'latest')).id).toBe(backup.id);

    await db.query(`insert into ${table} (name) values ('after the backup')`);
    // A JavaScript Date keeps milliseconds, Postgres microseconds: taken in the same
    // millisecond as the commit, the point in time would round down to before it.
    await new Promise((r) => setTimeout(r, 20));
    const { rows } = await db.query<{ now: Date }>('select clock_timestamp() as now');
    const pointInTime = rows[0]!.now;
    await new Promise((r) => setTimeout(r, 1_100));
    // The mistake to undo: a new row, and an old one deleted.
    await db.query(`insert into ${table} (name) values ('after the point in time')`);
    await db.query(`delete from ${table} where name = 'before the backup'`);
    await archived();

    await restoreBackup(storage, {
      backupId: 'latest',
      target,
      walArchive: join(env('PARLEY_BACKUP_DIR'), 'wal'),
      toTime: pointInTime,
      port: await freePort(),
      tools: tools(),
    });
    await startRestored(target, tools());
    const port = Number(
      /port = (\d+)/.exec(
        await import('node:fs/promises').then((f) =>
          f.readFile(join(target, 'postgresql.auto.conf'), 'utf8'),
        ),
      )![1],
    );
    const restored = new pg.Client({
      connectionString: Object.assign(new URL(infraEnv().pgPrimaryUrl), {
        port: String(port),
      }).toString(),
    });
    await restored.connect();
    try {
      // Recovery ends at the point in time, then the server promotes itself.
      for (let i = 0; i < 100; i++) {
        const { rows: r } = await restored.query<{ recovering: boolean }>(
          'select pg_is_in_recovery() as recovering',
        );
        if (!r[0]!.recovering) break;
        await new Promise((r2) => setTimeout(r2, 100));
      }
      const { rows: names } = await restored.query<{ name: string }>(
        `select name from ${table} order by at`,
      );
      expect(names.map((n) => n.name)).toEqual(['before the backup', 'after the backup']);
      // It takes writes (promoted), and it does not archive into the primary's archive.
      await restored.query(`insert into ${table} (name) values ('written after the restore')`);
      const { rows: mode } = await restored.query<{ archive_mode: string }>('show archive_mode');
      expect(mode[0]!.archive_mode).toBe('off');
    } finally {
      await restored.end();
    }
  }, 120_000);

  it('as a command: creates, lists and verifies a backup (restored into a scratch server that passes the integrity checks)', async () => {
    const cli = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [new URL('../dist/cli.js', import.meta.url).pathname, 'backup', ...args],
        {
          env: process.env,
        },
      ).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string; stderr: string }) => ({
          code: err.code,
          stdout: err.stdout + err.stderr,
        }),
      );
    const created = await cli('create');
    expect(created.code).toBe(0);
    const id = /^(full-\S+) \d+ bytes, kept until \S+$/m.exec(created.stdout)![1]!;
    const listed = await cli('list', '--json');
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((b) => b.id)).toContain(id);
    const verified = await cli('verify', '--backup-id', id, '--port', String(await freePort()));
    expect(verified.stdout).toContain(`verify: ${id} restores and passes the integrity checks`);
    expect(verified.code).toBe(0);
    expect((await cli('restore', '--backup-id', id)).code).toBe(2); // no --target
    expect(
      (await cli('restore', '--backup-id', 'full-19700101T000000Z', '--target', '/tmp/x')).code,
    ).toBe(1);
  }, 120_000);

  it('refuses a backup whose files do not match their checksums, and an id that does not exist', async () => {
    const latest = await findBackup(storage, 'latest');
    const other = await mkdtemp(join(tmpdir(), 'parley-tampered-'));
    try {
      const copy = new DirectoryStorage(await mkdtemp(join(tmpdir(), 'parley-storage-')));
      for (const f of latest.files)
        await copy.put(
          `base/${latest.id}/${f.name}`,
          join(storage.root, 'base', latest.id, f.name),
        );
      await copy.putText(`base/${latest.id}/manifest.json`, JSON.stringify(latest));
      await writeFile(join(copy.root, 'base', latest.id, 'base.tar.gz'), 'not the backup');
      await expect(
        restoreBackup(copy, {
          backupId: latest.id,
          target: other,
          walArchive: '/nonexistent',
          port: 1,
          tools: tools(),
        }),
      ).rejects.toMatchObject({ code: 'DR_ERR_CHECKSUM' });
      await expect(findBackup(copy, 'full-19700101T000000Z')).rejects.toMatchObject({
        code: 'DR_ERR_NO_BACKUP',
      });
      await rm(copy.root, { recursive: true, force: true });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
