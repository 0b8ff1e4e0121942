import { execFile } from 'node:child_process';
import { appendFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { UNREACHABLE_CODES } from '@parley/postgres/errors';
import { asUser, type PgTools } from './backup.js';

const run = promisify(execFile);

/** The application name the standby streams under; `synchronous_standby_names` names it. */
export const STANDBY_NAME = 'parley_standby';

/** What one Postgres node is now, as `failover status` prints it. */
export interface NodeStatus {
  /** The URL without its password. */
  node: string;
  /**
   * `down`: refused, unreachable or not answering in time; `unknown`: it
   * answered with an error (a login refused, too many connections), so it
   * may well be alive and is never taken for dead.
   */
  role: 'primary' | 'replica' | 'down' | 'unknown';
  /** Primaries: the timeline they write on (each promotion starts a higher one). */
  timeline?: number;
  /** Primaries: where they write now; replicas: what they received and replayed (LSN). */
  lsn?: string;
  received?: string;
  replayed?: string;
  /** Replicas: seconds since the last transaction they replayed was committed on the primary. */
  replayDelaySeconds?: number | null;
  /** Primaries: the setting and the standbys streaming to them. */
  synchronousStandbyNames?: string;
  standbys?: Array<{ name: string; state: string; syncState: string }>;
  error?: string;
}

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

/** The URL with its password hidden, for output and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function withClient<T>(
  url: string,
  fn: (c: pg.Client) => Promise<T>,
  timeoutMs = 3_000,
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs * 20,
    keepAlive: true,
    application_name: 'parley-dr',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Asks one node what it is; a node that does not answer is `down`, with the reason. */
export async function nodeStatus(url: string, timeoutMs = 3_000): Promise<NodeStatus> {
  try {
    return await withClient(
      url,
      async (c) => {
        const { rows } = await c.query<{ recovery: boolean }>(
          'select pg_is_in_recovery() as recovery',
        );
        if (rows[0]!.recovery) {
          const r = await c.query<{
            received: string | null;
            replayed: string | null;
            delay: number | null;
          }>(
            `select pg_last_wal_receive_lsn()::text as received, pg_last_wal_replay_lsn()::text as replayed,
                    extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as delay`,
          );
          const row = r.rows[0]!;
          return {
            node: redact(url),
            role: 'replica' as const,
            ...(row.received ? { received: row.received } : {}),
            ...(row.replayed ? { replayed: row.replayed } : {}),
            replayDelaySeconds: row.delay,
          };
        }
        const p = await c.query<{ lsn: string; timeline: string; names: string }>(
          `select pg_current_wal_lsn()::text as lsn,
                  substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as timeline,
                  current_setting('synchronous_standby_names') as names`,
        );
        const s = await c.query<{ name: string; state: string; sync_state: string }>(
          'select application_name as name, state, sync_state from pg_stat_replication order by 1',
        );
        const row = p.rows[0]!;
        return {
          node: redact(url),
          role: 'primary' as const,
          timeline: Number.parseInt(row.timeline, 16),
          lsn: row.lsn,
          synchronousStandbyNames: row.names,
          standbys: s.rows.map((x) => ({ name: x.name, state: x.state, syncState: x.sync_state })),
        };
      },
      timeoutMs,
    );
  } catch (err) {
    return {
      node: redact(url),
      role: isUnreachable(err) ? 'down' : 'unknown',
      error: (err as Error).message,
    };
  }
}

/** Whether a connection failure means the server is not there (rather than refusing us). */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code) return UNREACHABLE_CODES.has(code);
  return /timeout|terminated|closed/i.test((err as Error).message ?? '');
}

/** `16/B374D848` as a number of bytes, to compare positions. */
export function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** What {@link promote} did. */
export interface PromoteResult {
  promoted: string;
  timeline: number;
  tookMs: number;
  /**
   * The promoted node had `synchronous_standby_names` set (copied from the old
   * primary): with no standby yet, every commit would wait forever, so it is
   * cleared until a standby rejoins (`rejoin --synchronous` sets it again).
   */
  synchronousCleared: boolean;
}

/**
 * Promotes a replica to primary. Refuses when another node still takes
 * writes (two primaries would each accept different data) unless `force`,
 * and when the target is not a replica.
 */
export async function promote(options: {
  target: string;
  /** The other nodes: none may be a reachable primary. */
  others?: string[];
  force?: boolean;
}): Promise<PromoteResult> {
  const started = Date.now();
  const target = await nodeStatus(options.target);
  if (target.role !== 'replica')
    throw coded(
      'DR_ERR_NOT_REPLICA',
      `${target.node} is ${target.role === 'down' ? `down (${target.error})` : 'already a primary'}: only a replica can be promoted`,
    );
  if (!options.force) {
    for (const other of await Promise.all((options.others ?? []).map((u) => nodeStatus(u)))) {
      if (other.role === 'primary')
        throw coded(
          'DR_ERR_PRIMARY_ALIVE',
          `${other.node} still takes writes: stop it first (or --force, and fence it yourself)`,
        );
    }
  }
  return withClient(options.target, async (c) => {
    const { rows } = await c.query<{ ok: boolean }>('select pg_promote(true, 60) as ok');
    // false means "not finished within the wait": the promotion goes on, so wait for it.
    for (let i = 0; !rows[0]!.ok; i++) {
      const r = await c.query<{ r: boolean }>('select pg_is_in_recovery() as r');
      if (!r.rows[0]!.r) break;
      if (i >= 120)
        throw coded(
          'DR_ERR_PROMOTE',
          `${target.node} is still promoting after 120 s: do not promote another node`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    const names = (
      await c.query<{ v: string }>(`select current_setting('synchronous_standby_names') as v`)
    ).rows[0]!.v;
    if (names) {
      // SET '' (not RESET): it also wins over a value from postgresql.conf.
      await c.query(`alter system set synchronous_standby_names = ''`);
      await c.query('select pg_reload_conf()');
      await waitForSetting(c, '');
    }
    const tl = await c.query<{ t: string }>(
      'select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as t',
    );
    return {
      promoted: target.node,
      timeline: Number.parseInt(tl.rows[0]!.t, 16),
      tookMs: Date.now() - started,
      synchronousCleared: Boolean(names),
    };
  });
}

/** Waits until a reload has applied `synchronous_standby_names` (it is asynchronous). */
async function waitForSetting(c: pg.Client, value: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const { rows } = await c.query<{ v: string }>(
      `select current_setting('synchronous_standby_names') as v`,
    );
    if (rows[0]!.v === value) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw coded(
    'DR_ERR_SETTING',
    `synchronous_standby_names did not become '${value}' (set elsewhere, e.g. on the command line?)`,
  );
}

/** What {@link watch} reports as it goes. */
export type WatchEvent =
  | { kind: 'primary_seen'; node: string }
  | { kind: 'primary_down'; since: string }
  | { kind: 'primary_up'; node: string }
  | { kind: 'would_promote'; node: string; reason: string }
  | { kind: 'promoted'; result: PromoteResult; downForMs: number }
  | { kind: 'no_candidate'; reason: string };

/**
 * The automatic policy, for operators who approved it: when no node has
 * taken writes for `afterMs`, promote the replica that received the most WAL,
 * if it was within `maxLagBytes` of the primary's last position seen.
 * Without `approve` it only reports what it would do. Runs until `signal`.
 */
export async function watch(options: {
  nodes: string[];
  afterMs: number;
  intervalMs?: number;
  /** The operator approved automatic promotion. Without it: report only. */
  approve: boolean;
  /** @default 16 MiB (one WAL segment) */
  maxLagBytes?: bigint;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
}): Promise<void> {
  const interval = options.intervalMs ?? 1_000;
  const maxLag = options.maxLagBytes ?? 16n * 1024n * 1024n;
  let downSince: number | undefined;
  let lastPrimaryLsn: bigint | undefined;
  let reported = false;
  while (!options.signal.aborted) {
    const statuses = await Promise.all(options.nodes.map((u) => nodeStatus(u, interval)));
    const primary = statuses.find((s) => s.role === 'primary');
    const unsure = statuses.find((s) => s.role === 'unknown');
    if (!primary && unsure) {
      // A node that answers with an error may be a live primary: never promote past it.
      if (!reported)
        options.onEvent({
          kind: 'no_candidate',
          reason: `${unsure.node} answers but not to us: ${unsure.error}`,
        });
      reported = true;
    } else if (primary) {
      if (lastPrimaryLsn === undefined)
        options.onEvent({ kind: 'primary_seen', node: primary.node });
      if (downSince !== undefined) options.onEvent({ kind: 'primary_up', node: primary.node });
      downSince = undefined;
      reported = false;
      lastPrimaryLsn = primary.lsn ? lsnBytes(primary.lsn) : lastPrimaryLsn;
    } else {
      if (downSince === undefined) {
        downSince = Date.now();
        options.onEvent({ kind: 'primary_down', since: new Date(downSince).toISOString() });
      }
      const downFor = Date.now() - downSince;
      if (downFor >= options.afterMs) {
        const candidates = statuses
          .map((s, i) => ({ s, url: options.nodes[i]! }))
          .filter((c) => c.s.role === 'replica' && c.s.received)
          .sort((a, b) => (lsnBytes(b.s.received!) > lsnBytes(a.s.received!) ? 1 : -1));
        const best = candidates[0];
        const behind =
          best && lastPrimaryLsn !== undefined ? lastPrimaryLsn - lsnBytes(best.s.received!) : 0n;
        if (!best) {
          if (!reported) options.onEvent({ kind: 'no_candidate', reason: 'no replica answers' });
          reported = true;
        } else if (lastPrimaryLsn === undefined) {
          // Started during the outage: how far behind the replica is cannot be known.
          if (!reported)
            options.onEvent({
              kind: 'no_candidate',
              reason:
                'no primary seen since this watcher started: promote by hand (parley-dr failover promote)',
            });
          reported = true;
        } else if (behind > maxLag) {
          if (!reported)
            options.onEvent({
              kind: 'no_candidate',
              reason: `${best.s.node} is ${behind} bytes behind the last primary position seen (limit ${maxLag})`,
            });
          reported = true;
        } else if (!options.approve) {
          if (!reported)
            options.onEvent({
              kind: 'would_promote',
              node: best.s.node,
              reason: `no primary for ${downFor} ms; automatic promotion is not approved (--approve)`,
            });
          reported = true;
        } else {
          const others = options.nodes.filter((u) => u !== best.url);
          const result = await promote({ target: best.url, others });
          options.onEvent({ kind: 'promoted', result, downForMs: Date.now() - downSince });
          downSince = undefined;
        }
      }
    }
    await new Promise((r) => {
      const t = setTimeout(r, interval);
      options.signal.addEventListener('abort', () => (clearTimeout(t), r(undefined)), {
        once: true,
      });
    });
  }
}

/** What {@link rejoin} did. */
export interface RejoinResult {
  method: 'rewind' | 'basebackup';
  dataDir: string;
  /** Why pg_rewind was not used, when the base backup was the fallback. */
  rewindError?: string;
  /** Base backup: where the old data directory was moved (remove it once nothing in it is needed). */
  keptAside?: string;
  started: boolean;
}

/**
 * Turns a failed-over primary (stopped) into a replica of the new primary:
 * `pg_rewind` takes back what it wrote after the replica split off (those
 * transactions were never acknowledged to the new primary's clients), or, if
 * that fails, a fresh base backup replaces its data directory. Its own port
 * and addresses are kept (both tools copy the source's configuration).
 */
export async function rejoin(options: {
  dataDir: string;
  /** The new primary, as a superuser (or a role with pg_rewind's grants). */
  source: string;
  tools: PgTools;
  method?: 'auto' | 'rewind' | 'basebackup';
  start?: boolean;
  /** Where the rejoined node logs when started. @default <dataDir>/rejoin.log */
  logFile?: string;
}): Promise<RejoinResult> {
  const { tools, dataDir } = options;
  const source = new URL(options.source);
  // The password goes through the environment, never onto a command line.
  const password = decodeURIComponent(source.password);
  const exec = (program: string, args: string[], withPassword = false) => {
    const [p, a] = asUser(tools, program, args);
    return run(p, a, {
      cwd: '/',
      maxBuffer: 16 * 1024 * 1024,
      // Only the tools that connect get it (a started server must not inherit it).
      env: { ...process.env, ...(withPassword && password ? { PGPASSWORD: password } : {}) },
    });
  };
  const running = await exec('pg_ctl', ['-D', dataDir, 'status']).then(
    () => true,
    () => false,
  );
  if (running)
    throw coded('DR_ERR_RUNNING', `${dataDir} is running: stop the old primary before it rejoins`);
  const own: string[] = [];
  for (const name of ['port', 'listen_addresses', 'unix_socket_directories']) {
    const { stdout } = await exec('postgres', ['-D', dataDir, '-C', name]);
    own.push(`${name} = ${confString(stdout.trim())}`);
  }
  const host = conninfoValue(source.hostname.replace(/^\[(.*)\]$/, '$1'));
  const user = conninfoValue(decodeURIComponent(source.username));
  const dbname = conninfoValue(decodeURIComponent(source.pathname.slice(1)) || 'postgres');
  const database = `host=${host} port=${source.port || '5432'} user=${user} dbname=${dbname}`;
  // What the standby streams with (kept in postgresql.auto.conf, mode 0600, as -R would).
  const conninfo = `host=${host} port=${source.port || '5432'} user=${user}${password ? ` password=${conninfoValue(password)}` : ''} application_name=${STANDBY_NAME}`;
  const method = options.method ?? 'auto';
  let result: RejoinResult | undefined;
  let rewindError: string | undefined;
  if (method !== 'basebackup') {
    try {
      // A freshly promoted primary's control file still names the old
      // timeline until its first checkpoint, and pg_rewind reads it there:
      // without this it would find "no rewind required" and the node could
      // never follow the new timeline.
      await withClient(options.source, (c) => c.query('checkpoint'));
      await exec('pg_rewind', [`--target-pgdata=${dataDir}`, `--source-server=${database}`], true);
      result = { method: 'rewind', dataDir, started: false };
    } catch (err) {
      rewindError = `${(err as { stderr?: string }).stderr ?? (err as Error).message}`.trim();
      if (method === 'rewind') throw coded('DR_ERR_REWIND', `pg_rewind failed: ${rewindError}`);
    }
  }
  if (!result) {
    const aside = `${dataDir}.old-${Date.now()}`;
    await rename(dataDir, aside);
    try {
      await exec('pg_basebackup', ['-d', database, '-D', dataDir, '-X', 'stream'], true);
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      await rename(aside, dataDir);
      throw coded(
        'DR_ERR_BASEBACKUP',
        `pg_basebackup failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`,
      );
    }
    // Kept: it may hold the only copy of what the old primary wrote after the split.
    result = {
      method: 'basebackup',
      dataDir,
      keptAside: aside,
      ...(rewindError ? { rewindError } : {}),
      started: false,
    };
  }
  // postgresql.auto.conf is read last: its own address, the new primary, and
  // no synchronous standby of its own (it is one).
  await appendFile(
    join(dataDir, 'postgresql.auto.conf'),
    `\n# parley-dr rejoin\n${[
      ...own,
      `primary_conninfo = ${confString(conninfo)}`,
      "synchronous_standby_names = ''",
      "restore_command = ''",
    ].join('\n')}\n`,
  );
  await rm(join(dataDir, 'recovery.signal'), { force: true });
  const signal = join(dataDir, 'standby.signal');
  await appendFile(signal, '');
  if (process.getuid?.() === 0)
    await run('chown', ['-R', `${tools.user ?? 'postgres'}:${tools.user ?? 'postgres'}`, dataDir]);
  if (options.start) {
    await exec('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      options.logFile ?? join(dataDir, 'rejoin.log'),
      '-w',
      '-t',
      '120',
      'start',
    ]);
    result.started = true;
  }
  return result;
}

/**
 * Turns synchronous replication on (commits wait until the named standby has
 * the WAL: no acknowledged write is lost when the primary dies) or off.
 * Refuses to turn it on while that standby is not streaming, since every
 * commit would then wait for it.
 */
export async function setSynchronous(options: {
  primary: string;
  standby?: string;
  on: boolean;
}): Promise<NodeStatus> {
  const standby = options.standby ?? STANDBY_NAME;
  if (!/^[A-Za-z0-9_]{1,63}$/.test(standby))
    throw coded('DR_ERR_USAGE', 'the standby name must be letters, digits and _');
  await withClient(options.primary, async (c) => {
    if (options.on) {
      const { rows } = await c.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_replication where application_name = $1 and state = 'streaming'`,
        [standby],
      );
      if (rows[0]!.n === 0)
        throw coded(
          'DR_ERR_NO_STANDBY',
          `no standby named ${standby} is streaming: every commit would wait for it`,
        );
      await c.query(`alter system set synchronous_standby_names = 'FIRST 1 (${standby})'`);
      await c.query(`alter system set synchronous_commit = 'on'`);
    } else {
      await c.query(`alter system set synchronous_standby_names = ''`);
    }
    await c.query('select pg_reload_conf()');
    await waitForSetting(c, options.on ? `FIRST 1 (${standby})` : '');
  });
  return nodeStatus(options.primary);
}

/** A postgresql.conf string: its parser takes backslash escapes and doubled quotes. */
export function confString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** A libpq conninfo value, quoted when it has spaces, quotes or backslashes. */
export function conninfoValue(value: string): string {
  return /[\s'\\]/.test(value) || value === ''
    ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
    : value;
}
