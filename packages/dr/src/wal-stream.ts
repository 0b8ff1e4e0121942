import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PgTools } from './backup.js';
import type { BackupStorage } from './storage.js';
import { walPush } from './wal.js';

const run = promisify(execFile);
const COMPLETE = /^[0-9A-F]{24}$|^[0-9A-F]{8}\.history$/;
const PARTIAL = /^[0-9A-F]{24}\.partial$/;

/** The replication slot the stream holds on the primary (the server keeps WAL until it is streamed). */
export const WAL_SLOT = 'parley_wal';

export interface WalStreamOptions {
  replicationUrl: string;
  tools: PgTools;
  /** A local directory pg_receivewal writes into; kept across restarts (a volume), or not (the slot resumes). */
  spool: string;
  /** @default {@link WAL_SLOT} */
  slot?: string;
  /** How often the segment being written is stored (`wal/<segment>.partial`): the RPO. @default 60_000 */
  partialEveryMs?: number;
  /** How often the spool is looked at for finished segments. @default 1_000 */
  scanEveryMs?: number;
  log?: (event: Record<string, unknown>) => void;
}

export interface WalSyncResult {
  /** Finished segments and timeline histories stored in this pass. */
  stored: string[];
  /** The segment being written, when it was stored in this pass. */
  partial?: string;
}

/**
 * Continuous WAL archiving over a replication connection, for a Postgres whose
 * `archive_command` is not ours to set (a managed server, or a chart install):
 * `pg_receivewal` streams into a spool through a replication slot, and every
 * finished segment goes to the backup storage's `wal/` (as `wal-push` would
 * store it). The segment being written is stored as `wal/<segment>.partial`
 * every `partialEveryMs`, so a restore reaches to within that much of the loss;
 * `wal-fetch` and a directory restore fall back to it for the last segment.
 *
 * Nothing is lost when the streamer dies: the slot keeps the server's WAL
 * until pg_receivewal has flushed it, and the spool's finished segments are
 * stored before they are deleted. With an empty spool (a new volume),
 * pg_receivewal starts again at the slot's position (Postgres 15 and later).
 */
export class WalStream {
  private child: ChildProcess | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<WalSyncResult> | undefined;
  private partialStoredAt = 0;
  private partialSeen = '';
  /** Spool files stored already (the newest segment stays as pg_receivewal's resume point). */
  private readonly stored = new Set<string>();
  private readonly slot: string;
  private readonly partialEveryMs: number;
  private readonly log: (event: Record<string, unknown>) => void;
  private exited: Promise<void> = Promise.resolve();
  /** Finished segments stored since start. */
  storedCount = 0;

  constructor(
    private readonly storage: BackupStorage,
    private readonly options: WalStreamOptions,
  ) {
    this.slot = options.slot ?? WAL_SLOT;
    if (!/^[a-z0-9_]{1,63}$/.test(this.slot))
      throw Object.assign(new Error(`slot ${this.slot}: lower-case letters, digits and _ only`), {
        code: 'DR_ERR_USAGE',
      });
    this.partialEveryMs = options.partialEveryMs ?? 60_000;
    this.log = options.log ?? (() => undefined);
  }

  /** Creates the slot if it is missing, stores what the spool holds from before, then streams. */
  async start(): Promise<void> {
    await mkdir(this.options.spool, { recursive: true, mode: 0o700 });
    await run(join(this.options.tools.bin, 'pg_receivewal'), [
      '-d',
      this.options.replicationUrl,
      '--slot',
      this.slot,
      '--create-slot',
      '--if-not-exists',
    ]);
    await this.sync();
    this.spawn();
    const scan = () => {
      this.timer = setTimeout(() => {
        this.sync()
          .catch((err: unknown) =>
            this.log({ event: 'wal_store_failed', error: (err as Error).message }),
          )
          .finally(() => {
            if (!this.stopping) scan();
          });
      }, this.options.scanEveryMs ?? 1_000);
    };
    scan();
  }

  private spawn(): void {
    const child = spawn(
      join(this.options.tools.bin, 'pg_receivewal'),
      [
        '-d',
        this.options.replicationUrl,
        '-D',
        this.options.spool,
        '--slot',
        this.slot,
        // Report a flush for every write: the slot (and the server's WAL) advances only past what is on the spool.
        '--synchronous',
        '--status-interval',
        '10',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        resolve();
        if (this.stopping) return;
        this.log({ event: 'pg_receivewal_exited', code, signal, stderr: stderr.trim() });
        // The server went away or refused: try again, as pg_receivewal's own loop would.
        setTimeout(() => {
          if (!this.stopping) this.spawn();
        }, 5_000).unref();
      });
    });
    this.log({ event: 'pg_receivewal_started', pid: child.pid, slot: this.slot });
  }

  /**
   * One pass over the spool: every finished segment and history is stored
   * (then deleted, except the newest segment, where pg_receivewal resumes),
   * and the segment being written when `partialEveryMs` has passed and it changed.
   */
  sync(options: { partialNow?: boolean } = {}): Promise<WalSyncResult> {
    const pass = (this.syncing ?? Promise.resolve()).then(
      () => this.syncOnce(options),
      () => this.syncOnce(options),
    );
    this.syncing = pass;
    return pass;
  }

  private async syncOnce(options: { partialNow?: boolean }): Promise<WalSyncResult> {
    const spool = this.options.spool;
    const names = (await readdir(spool)).sort();
    const stored: string[] = [];
    const complete = names.filter((n) => COMPLETE.test(n));
    const segments = complete.filter((n) => !n.endsWith('.history'));
    for (const name of complete) {
      if (!this.stored.has(name)) {
        await walPush(this.storage, join(spool, name), name);
        this.stored.add(name);
        stored.push(name);
        if (!name.endsWith('.history')) this.storedCount++;
        // Its partial copy (from this process or one before it) is superseded.
        if (!name.endsWith('.history')) await this.storage.remove(`wal/${name}.partial`);
      }
      if (name !== segments.at(-1)) {
        await rm(join(spool, name), { force: true });
        this.stored.delete(name);
      }
    }
    const result: WalSyncResult = { stored };
    const partial = names.find((n) => PARTIAL.test(n));
    if (partial) {
      const info = await stat(join(spool, partial)).catch(() => undefined);
      const seen = info ? `${partial}:${info.mtimeMs}:${info.size}` : '';
      const due = options.partialNow || Date.now() - this.partialStoredAt >= this.partialEveryMs;
      if (info && due && seen !== this.partialSeen) {
        try {
          await this.storage.put(`wal/${partial}`, join(spool, partial));
          this.partialSeen = seen;
          this.partialStoredAt = Date.now();
          result.partial = partial;
        } catch (err) {
          // Renamed to a finished segment meanwhile: the next pass stores that.
          if ((err as { code?: string }).code !== 'ENOENT') throw err;
        }
      }
    }
    if (result.stored.length > 0 || result.partial) this.log({ event: 'wal_stored', ...result });
    return result;
  }

  /** Stops pg_receivewal (it flushes what it has), then stores the spool once more, the partial segment included. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(killer);
    }
    await this.sync({ partialNow: true });
  }

  /** The pg_receivewal process (tests kill it to play a crash). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/** Drops the stream's slot, so the server stops keeping WAL for it (when WAL streaming is turned off). */
export async function dropWalSlot(
  replicationUrl: string,
  tools: PgTools,
  slot = WAL_SLOT,
): Promise<void> {
  await run(join(tools.bin, 'pg_receivewal'), [
    '-d',
    replicationUrl,
    '--slot',
    slot,
    '--drop-slot',
  ]);
}
