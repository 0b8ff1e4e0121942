import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupId, readManifests, sha256 } from './backup.js';
import type { BackupStorage } from './storage.js';

/**
 * Redis snapshots. Redis holds sessions, rate limits and caches: all of it
 * can be rebuilt, but a snapshot brings sessions back after losing Redis.
 * The snapshot is taken over the replication protocol (`SYNC`, as a replica
 * does), so it needs no access to the Redis host's disk and works whatever
 * its `save` setting.
 */
export interface RedisSnapshotManifest {
  id: string;
  kind: 'redis';
  takenAt: string;
  size: number;
  sha256: string;
  /** Keys in database 0 just before the snapshot. */
  keys: number;
  keepUntil: string;
}

/** Redis snapshots are kept 3 days (the design's backup table: hourly, 3 days). */
export const REDIS_RETENTION_DAYS = 3;

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

/** Reads a socket as lines and byte counts. */
class Reader {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      // Back-pressure: no more than a few MiB held in memory.
      if (this.buffer.length > 8 << 20) socket.pause();
      this.wake?.();
    });
    const fail = (err?: Error) => {
      this.failure ??= err ?? coded('DR_ERR_REDIS', 'Redis closed the connection');
      this.wake?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  private async more(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
  }

  async line(): Promise<string> {
    for (;;) {
      // Redis sends bare newlines as keep-alives while it prepares the snapshot.
      while (this.buffer[0] === 0x0a) this.buffer = this.buffer.subarray(1);
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString();
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      await this.more();
    }
  }

  /** Hands over up to `max` buffered bytes (waiting for some). */
  async chunk(max: number): Promise<Buffer> {
    if (this.buffer.length === 0) await this.more();
    const out = this.buffer.subarray(0, max);
    this.buffer = this.buffer.subarray(out.length);
    if (this.buffer.length < 1 << 20) this.socket.resume();
    return out;
  }
}

const resp = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Streams a snapshot of the Redis at `url` into `file`; returns its size and key count. */
export async function snapshotRedis(
  url: string,
  file: string,
  timeoutMs = 120_000,
  options: { caFile?: string } = {},
): Promise<{ size: number; keys: number }> {
  const deadline = Date.now() + timeoutMs;
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw coded('DR_ERR_USAGE', 'PARLEY_REDIS_URL must be redis:// or rediss://');
  // rediss://: TLS, verifying the server against the system's CAs or the private one.
  const socket: Socket =
    u.protocol === 'rediss:'
      ? tlsConnect({
          host: u.hostname,
          port: Number(u.port || 6379),
          servername: isIP(u.hostname) ? undefined : u.hostname,
          ...(options.caFile ? { ca: await readFile(options.caFile) } : {}),
        })
      : connect(Number(u.port || 6379), u.hostname);
  socket.setTimeout(timeoutMs, () => socket.destroy(coded('DR_ERR_REDIS', 'Redis timed out')));
  const reader = new Reader(socket);
  const out = createWriteStream(file, { mode: 0o600 });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', resolve);
      socket.once('error', (err) =>
        reject(coded('DR_ERR_REDIS', `cannot reach Redis at ${u.host}: ${err.message}`)),
      );
    });
    if (u.password) {
      socket.write(
        u.username
          ? resp('AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password))
          : resp('AUTH', decodeURIComponent(u.password)),
      );
      // The reply, never the password, goes into the error.
      const auth = await reader.line();
      if (!auth.startsWith('+OK')) throw coded('DR_ERR_REDIS', `Redis refused the login: ${auth}`);
    }
    socket.write(resp('DBSIZE'));
    const size = await reader.line();
    if (!size.startsWith(':')) throw coded('DR_ERR_REDIS', `unexpected reply to DBSIZE: ${size}`);
    const keys = Number(size.slice(1));
    socket.write(resp('SYNC'));
    const header = await reader.line();
    let written = 0;
    const write = async (bytes: Buffer) => {
      written += bytes.length;
      if (!out.write(bytes)) await new Promise<void>((r) => out.once('drain', () => r()));
    };
    if (header.startsWith('$EOF:')) {
      // Diskless: the snapshot ends with the 40-byte mark given in the header.
      // Redis goes on with the replication stream right after it: stop at the mark.
      const mark = Buffer.from(header.slice(5));
      let tail = Buffer.alloc(0);
      for (;;) {
        if (Date.now() > deadline) throw coded('DR_ERR_REDIS', 'the snapshot took too long');
        const data = Buffer.concat([tail, await reader.chunk(1 << 20)]);
        const at = data.indexOf(mark);
        if (at >= 0) {
          await write(data.subarray(0, at));
          break;
        }
        const keep = Math.min(data.length, mark.length - 1);
        await write(data.subarray(0, data.length - keep));
        tail = data.subarray(data.length - keep);
      }
    } else if (header.startsWith('$')) {
      let left = Number(header.slice(1));
      while (left > 0) {
        if (Date.now() > deadline) throw coded('DR_ERR_REDIS', 'the snapshot took too long');
        const bytes = await reader.chunk(Math.min(left, 1 << 20));
        left -= bytes.length;
        await write(bytes);
      }
    } else {
      throw coded('DR_ERR_REDIS', `Redis did not start a snapshot: ${header}`);
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const head = Buffer.alloc(5);
    const handle = await open(file);
    await handle.read(head, 0, 5, 0).finally(() => handle.close());
    const magic = head.toString();
    if (magic !== 'REDIS') throw coded('DR_ERR_REDIS', 'the snapshot is not an RDB file');
    return { size: written, keys };
  } finally {
    socket.destroy();
    out.destroy();
  }
}

/** Takes a snapshot and stores it with its manifest (`redis/<id>/`). */
export async function backupRedis(
  storage: BackupStorage,
  url: string,
  now = new Date(),
  options: { caFile?: string } = {},
): Promise<RedisSnapshotManifest> {
  const work = await mkdtemp(join(tmpdir(), 'parley-redis-'));
  try {
    const file = join(work, 'dump.rdb');
    const { size, keys } = await snapshotRedis(url, file, 120_000, options);
    const id = backupId('redis', now);
    const manifest: RedisSnapshotManifest = {
      id,
      kind: 'redis',
      takenAt: now.toISOString(),
      size,
      sha256: await sha256(file),
      keys,
      keepUntil: new Date(now.getTime() + REDIS_RETENTION_DAYS * 86_400_000).toISOString(),
    };
    await storage.put(`redis/${id}/dump.rdb`, file);
    await storage.putText(`redis/${id}/manifest.json`, JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The stored Redis snapshots, oldest first. */
export async function listRedisSnapshots(storage: BackupStorage): Promise<RedisSnapshotManifest[]> {
  return readManifests<RedisSnapshotManifest>(storage, 'redis', (m) => m.takenAt);
}

/** Removes the snapshots past their `keepUntil`, except the newest; returns their ids. */
export async function pruneRedisSnapshots(
  storage: BackupStorage,
  now = new Date(),
): Promise<string[]> {
  const all = await listRedisSnapshots(storage);
  const expired = all.slice(0, -1).filter((m) => new Date(m.keepUntil) <= now);
  for (const m of expired) await storage.remove(`redis/${m.id}`);
  return expired.map((m) => m.id);
}

/**
 * Puts a snapshot (`latest` or an id) into `targetDir/dump.rdb`, checked
 * against its checksum: start Redis with `--dir targetDir --dbfilename dump.rdb`.
 */
export async function restoreRedis(
  storage: BackupStorage,
  id: string,
  targetDir: string,
): Promise<RedisSnapshotManifest> {
  const all = await listRedisSnapshots(storage);
  const manifest = id === 'latest' ? all.at(-1) : all.find((m) => m.id === id);
  if (!manifest) throw coded('DR_ERR_NO_BACKUP', `no Redis snapshot ${id}`);
  await mkdir(targetDir, { recursive: true });
  const file = join(targetDir, 'dump.rdb');
  await storage.fetch(`redis/${manifest.id}/dump.rdb`, file);
  if ((await sha256(file)) !== manifest.sha256 || (await stat(file)).size !== manifest.size)
    throw coded('DR_ERR_CHECKSUM', `Redis snapshot ${manifest.id} does not match its checksum`);
  return manifest;
}
