import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupStorage } from './storage.js';

const run = promisify(execFile);

/** A base backup as `backup list` shows it. */
export interface BackupManifest {
  id: string;
  kind: 'full';
  startedAt: string;
  finishedAt: string;
  /** Bytes stored, and the sha256 of each file (checked by verify and restore). */
  size: number;
  files: Array<{ name: string; size: number; sha256: string }>;
  /** Full backups are kept 30 days (the design's backup table). */
  keepUntil: string;
}

/**
 * The design's retention (docs/design/README.md#backups): full daily backups
 * 30 days, WAL 7 days.
 */
export const RETENTION = { fullDays: 30, walDays: 7 } as const;

/** The server's programs and the OS user they run as (Postgres refuses root). */
export interface PgTools {
  bin: string;
  /** Run the server as this user when we are root. @default 'postgres' */
  user?: string;
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const asUser = (tools: PgTools, program: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0
    ? ['runuser', ['-u', tools.user ?? 'postgres', '--', join(tools.bin, program), ...args]]
    : [join(tools.bin, program), args];

/**
 * Takes a full base backup over a replication connection (`pg_basebackup`,
 * tar, gzip, with the WAL it needs to be consistent on its own) and stores it
 * with its manifest: id, size, checksums, retention.
 */
export async function createBackup(
  storage: BackupStorage,
  options: { replicationUrl: string; tools: PgTools; now?: () => Date },
): Promise<BackupManifest> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const id = backupId('full', started);
  const work = await mkdtemp(join(tmpdir(), 'parley-basebackup-'));
  try {
    await run(join(options.tools.bin, 'pg_basebackup'), [
      '-d',
      options.replicationUrl,
      '-D',
      work,
      '-Ft',
      '-z',
      '-X',
      'fetch',
      '-c',
      'fast',
      '--no-sync',
      '-l',
      id,
    ]);
    const files: BackupManifest['files'] = [];
    for (const name of (await readdir(work)).sort()) {
      const file = join(work, name);
      files.push({ name, size: 0, sha256: await sha256(file) });
      await storage.put(`base/${id}/${name}`, file);
      files.at(-1)!.size = await storage.size(`base/${id}/${name}`);
    }
    const finished = now();
    const manifest: BackupManifest = {
      id,
      kind: 'full',
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      size: files.reduce((n, f) => n + f.size, 0),
      files,
      keepUntil: new Date(started.getTime() + RETENTION.fullDays * 86_400_000).toISOString(),
    };
    // The manifest goes last: a backup without one is incomplete and never listed.
    await storage.putText(`base/${id}/manifest.json`, JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Complete backups, oldest first. */
export async function listBackups(storage: BackupStorage): Promise<BackupManifest[]> {
  return readManifests<BackupManifest>(storage, 'base', (m) => m.startedAt);
}

/** A backup's id: its kind and when it was taken, to the second (`full-20261126T101609Z`). */
export function backupId(kind: string, at: Date): string {
  return `${kind}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** The manifests stored under `dir/<id>/manifest.json`, oldest first by `takenAt`. */
export async function readManifests<M>(
  storage: BackupStorage,
  dir: string,
  takenAt: (manifest: M) => string,
): Promise<M[]> {
  const out: M[] = [];
  for (const id of await storage.list(`${dir}/`)) {
    const text = await storage.getText(`${dir}/${id}/manifest.json`);
    if (text) out.push(JSON.parse(text) as M);
  }
  return out.sort((a, b) => takenAt(a).localeCompare(takenAt(b)));
}

/** `latest`, or an id; the coded error names what is there. */
export async function findBackup(storage: BackupStorage, id: string): Promise<BackupManifest> {
  const all = await listBackups(storage);
  const found = id === 'latest' ? all.at(-1) : all.find((b) => b.id === id);
  if (!found)
    throw Object.assign(
      new Error(`no backup ${id} (have: ${all.map((b) => b.id).join(', ') || 'none'})`),
      {
        code: 'DR_ERR_NO_BACKUP',
      },
    );
  return found;
}

/**
 * Restores a base backup into `target` (a new data directory) and prepares
 * recovery: WAL from the archive up to `toTime` (point in time), or to the
 * end of the archive; then the server promotes itself. The restored server
 * neither archives nor replicates (it must not write into the same archive).
 * Checksums are checked first.
 */
export async function restoreBackup(
  storage: BackupStorage,
  options: {
    backupId: string;
    target: string;
    /** Where the server fetches archived WAL from (this storage's `wal/`, as a local path). */
    walArchive: string;
    /** Instead of copying from `walArchive`: the server's restore_command (`parley-dr wal-fetch %f %p` for object storage). */
    restoreCommand?: string;
    toTime?: Date;
    port: number;
    tools: PgTools;
  },
): Promise<BackupManifest> {
  const manifest = await findBackup(storage, options.backupId);
  await mkdir(options.target, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(tmpdir(), 'parley-restore-'));
  try {
    for (const file of manifest.files) {
      const local = join(work, file.name);
      await storage.fetch(`base/${manifest.id}/${file.name}`, local);
      if ((await sha256(local)) !== file.sha256)
        throw Object.assign(
          new Error(`backup ${manifest.id}: ${file.name} does not match its checksum`),
          {
            code: 'DR_ERR_CHECKSUM',
          },
        );
    }
    await run('tar', ['-xzf', join(work, 'base.tar.gz'), '-C', options.target]);
    await mkdir(join(options.target, 'pg_wal'), { recursive: true });
    if (manifest.files.some((f) => f.name === 'pg_wal.tar.gz'))
      await run('tar', ['-xzf', join(work, 'pg_wal.tar.gz'), '-C', join(options.target, 'pg_wal')]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // postgresql.auto.conf is read last: these win over whatever the primary's files say.
  const settings = [
    `port = ${options.port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${options.target}'`,
    'archive_mode = off',
    "primary_conninfo = ''",
    "primary_slot_name = ''",
    `restore_command = '${(options.restoreCommand ?? directoryRestore(options.walArchive)).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`,
    // Postgres's own timestamp syntax (it refuses ISO 8601's T and Z here).
    ...(options.toTime
      ? [
          `recovery_target_time = '${options.toTime.toISOString().replace('T', ' ').replace('Z', '+00')}'`,
        ]
      : []),
    "recovery_target_action = 'promote'",
  ];
  await appendFile(
    join(options.target, 'postgresql.auto.conf'),
    `\n# parley-dr restore\n${settings.join('\n')}\n`,
  );
  await rm(join(options.target, 'standby.signal'), { force: true });
  await writeFile(join(options.target, 'recovery.signal'), '');
  if (process.getuid?.() === 0) await chownTree(options.target, options.tools.user ?? 'postgres');
  return manifest;
}

/**
 * The restore_command for a directory archive: the segment, or for the last
 * one the copy the WAL stream stored while it was being written.
 */
function directoryRestore(dir: string): string {
  return `cp "${dir}/%f" "%p" 2>/dev/null || cp "${dir}/%f.partial" "%p"`;
}

async function chownTree(dir: string, user: string): Promise<void> {
  await run('chown', ['-R', `${user}:${user}`, dir]);
  await chown(dir, ...(await ids(user))).catch(() => undefined);
}

async function ids(user: string): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', user]);
  const { stdout: g } = await run('id', ['-g', user]);
  return [Number(stdout.trim()), Number(g.trim())];
}

/** Starts a restored data directory and waits until recovery is over (it accepts writes). */
export async function startRestored(target: string, tools: PgTools): Promise<void> {
  const [program, args] = asUser(tools, 'pg_ctl', [
    '-D',
    target,
    '-l',
    join(target, 'restore.log'),
    '-w',
    '-t',
    '120',
    'start',
  ]);
  await run(program, args, { cwd: '/' });
}

export async function stopRestored(target: string, tools: PgTools): Promise<void> {
  const [program, args] = asUser(tools, 'pg_ctl', ['-D', target, '-m', 'fast', '-w', 'stop']);
  await run(program, args, { cwd: '/' }).catch(() => undefined);
}

/** Whether a restored server has finished recovery (it takes writes). */
async function promoted(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  for (let i = 0; i < 600; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const { rows } = await client.query<{ r: boolean }>('select pg_is_in_recovery() as r');
      if (!rows[0]!.r) return;
    } catch {
      // starting up
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw Object.assign(new Error('the restored server did not finish recovery in 60 s'), {
    code: 'DR_ERR_RECOVERY',
  });
}

/**
 * Proves a backup restores: into a scratch directory on `port`, up to the
 * end of the archive, then `check` runs against the restored database (the
 * integrity checks); the scratch server is removed afterwards.
 */
export async function verifyBackup<T>(
  storage: BackupStorage,
  options: {
    backupId: string;
    walArchive: string;
    restoreCommand?: string;
    port: number;
    tools: PgTools;
    /** The restored database's URL, given the scratch port. */
    url: (port: number) => string;
    check: (url: string) => Promise<T>;
  },
): Promise<{ manifest: BackupManifest; result: T }> {
  const target = await mkdtemp(join(tmpdir(), 'parley-verify-'));
  try {
    const manifest = await restoreBackup(storage, { ...options, target });
    await startRestored(target, options.tools);
    const url = options.url(options.port);
    await promoted(url);
    return { manifest, result: await options.check(url) };
  } finally {
    await stopRestored(target, options.tools);
    await rm(target, { recursive: true, force: true });
  }
}

/**
 * Applies the retention ({@link RETENTION}): full backups past their `keepUntil` go,
 * except the newest; archived WAL goes once it is older than the WAL
 * retention and than the oldest backup kept (which still needs it to reach
 * any later point in time).
 */
export async function pruneBackups(
  storage: BackupStorage,
  now = new Date(),
): Promise<{ backups: string[]; walSegments: number }> {
  const all = await listBackups(storage);
  const expired = all.slice(0, -1).filter((b) => new Date(b.keepUntil) <= now);
  for (const b of expired) await storage.remove(`base/${b.id}`);
  const kept = all.filter((b) => !expired.includes(b));
  const oldestKept = kept[0] ? new Date(kept[0].startedAt) : now;
  const walCutoff = Math.min(oldestKept.getTime(), now.getTime() - RETENTION.walDays * 86_400_000);
  let walSegments = 0;
  for (const name of await storage.list('wal/')) {
    if ((await storage.storedAt(`wal/${name}`)).getTime() >= walCutoff) continue;
    await storage.remove(`wal/${name}`);
    walSegments++;
  }
  return { backups: expired.map((b) => b.id), walSegments };
}
