import { createHash } from 'node:crypto';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  UnavailableError,
  comparePositions,
  type ReadConsistency,
  type WritePosition,
} from '@parley/ports';
import { isConnectionError } from './errors.js';

/** Options for {@link PgRouter}. */
export interface PgRouterOptions {
  primaryUrl: string;
  /** Read replicas; reads go to the primary when there are none or all are down. @default [] */
  replicaUrls?: string[];
  /** Connections per pool. @default 10 */
  maxPoolSize?: number;
  /** @default 5000 */
  connectionTimeoutMs?: number;
  /** Server-side limit per statement. @default 15000 */
  statementTimeoutMs?: number;
  /** How long a replica that failed is skipped before it is tried again. @default 5000 */
  replicaCooldownMs?: number;
  /** A replica further behind the primary than this is skipped until it catches up. @default 2000 */
  maxReplicaLagMs?: number;
  /** How often replicas' replay positions (and so their lag) are sampled. @default 1000 */
  lagSampleIntervalMs?: number;
  /**
   * How often every node is asked whether it takes writes: how soon writes
   * follow a promoted replica when nothing failed here first (a failed write
   * asks at once). @default 5000
   */
  topologyIntervalMs?: number;
  /** A node that does not answer that question within this counts as down. @default 2000 */
  probeTimeoutMs?: number;
  /**
   * Statements with parameters are prepared once per connection and named
   * by their text: each later run skips the server's parse and plan. Off for
   * a pooler that cannot keep them (PgBouncer before 1.21, or without
   * `max_prepared_statements`). @default true
   */
  preparedStatements?: boolean;
  /** Called on pool-level errors (a backend died while idle). */
  onError?: (err: Error, pool: string) => void;
  /**
   * Called when writes move to another node (a replica was promoted), and
   * when more than one node takes writes (the one on the newest timeline wins).
   */
  onTopology?: (event: TopologyEvent) => void;
}

/** What {@link PgRouterOptions.onTopology} reports. */
export type TopologyEvent =
  | { kind: 'writer_changed'; from: string; to: string; timeline: number }
  | { kind: 'several_writers'; writers: Array<{ name: string; timeline: number }>; chosen: string };

/** A node's role at the last look: `stale` takes writes on an older timeline (a primary that was failed over). */
export type NodeRole = 'primary' | 'replica' | 'stale' | 'down' | 'unknown';

interface Node {
  /** `primary` for the configured primary, `replica-N` for the others, whatever they are now. */
  name: string;
  pool: pg.Pool;
  role: NodeRole;
  /** The timeline it writes on (primaries only): each promotion starts a higher one. */
  timeline: number;
  downUntil: number;
  /** Last replay position seen on the node (as a replica). */
  replayed: WritePosition;
  /** How far behind the writer it was at the last sample. */
  lagMs: number;
}

/** One question to each node: does it take writes, and on which timeline. */
const PROBE_SQL = `select pg_is_in_recovery() as recovery,
  case when pg_is_in_recovery() then null
       else substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end as timeline`;

/** `pg_lsn` text (`16/B374D848`) as a fixed-width hex position that compares as a number. */
export const LSN_SQL = (expr: string) =>
  `lpad(to_hex((${expr} - '0/0'::pg_lsn)::bigint), 16, '0') as lsn`;

/**
 * Postgres with writes on the primary and reads spread over replicas.
 * Use {@link write} (or {@link transaction}) for anything that changes data,
 * {@link read} for queries that may see slightly old data.
 *
 * Every configured node is a candidate for writes: the router asks each
 * whether it is in recovery, and writes go to the one that is not (the
 * newest timeline wins, so a failed-over primary that comes back unrewound is
 * never written to). When a replica is promoted, writes follow it without a
 * restart; until then they fail with `UnavailableError` (`PG_ERR_UNAVAILABLE`),
 * which the event bus retries without dead-lettering.
 */
export class PgRouter {
  private readonly nodes: Node[];
  private writer: Node;
  private readonly prepare: boolean;
  /** Statement names by text (bounded: texts are the code's own, not users'). */
  private readonly names = new Map<string, string>();
  private readonly cooldownMs: number;
  private readonly maxLagMs: number;
  private readonly probeTimeoutMs: number;
  private readonly onTopology: ((event: TopologyEvent) => void) | undefined;
  /** Recent writer positions with when they were seen, oldest first (for lag in time). */
  private readonly primarySamples: Array<{ at: number; lsn: WritePosition }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private discovering: Promise<void> | undefined;
  /** The newest timeline ever seen taking writes: a node on an older one is never written to again. */
  private newestTimeline = 0;
  private lastDiscovery = 0;
  private next = 0;

  constructor(options: PgRouterOptions) {
    const common = {
      max: options.maxPoolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      // The client gives up too when the server is gone without a word (a
      // dropped network), and TCP keep-alive notices a dead peer.
      query_timeout: (options.statementTimeoutMs ?? 15_000) + 5_000,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    };
    const node = (url: string, name: string, role: NodeRole): Node => {
      const pool = new pg.Pool({
        connectionString: url,
        application_name: `parley-${name}`,
        ...common,
      });
      pool.on('error', (err) => options.onError?.(err, name));
      return { name, pool, role, timeline: 0, downUntil: 0, replayed: '0', lagMs: 0 };
    };
    this.nodes = [
      node(options.primaryUrl, 'primary', 'unknown'),
      ...(options.replicaUrls ?? []).map((url, i) => node(url, `replica-${i + 1}`, 'unknown')),
    ];
    this.writer = this.nodes[0]!;
    this.prepare = options.preparedStatements ?? true;
    this.cooldownMs = options.replicaCooldownMs ?? 5_000;
    this.maxLagMs = options.maxReplicaLagMs ?? 2_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
    this.onTopology = options.onTopology;
    if (this.nodes.length > 1) {
      const every = (ms: number, fn: () => Promise<void>) => {
        const timer = setInterval(() => void fn().catch(() => undefined), ms);
        timer.unref();
        this.timers.push(timer);
      };
      every(options.lagSampleIntervalMs ?? 1_000, () => this.sampleLag());
      every(options.topologyIntervalMs ?? 5_000, () => this.discover());
    }
  }

  /** The pool writes go to now. */
  get primary(): pg.Pool {
    return this.writer.pool;
  }

  /** The name of the node writes go to now (`primary`, or `replica-N` after a failover). */
  get writerName(): string {
    return this.writer.name;
  }

  /** Runs a statement on the primary. */
  async write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const writer = this.writer;
    try {
      return await writer.pool.query<R>(this.statement(text, values));
    } catch (err) {
      throw this.writeFailure(writer, err);
    }
  }

  /**
   * Runs a read-only statement on a healthy replica (round robin) that is
   * within the lag bound, or, for `{ after }`, has replayed that position;
   * falls back to the next replica and then to the primary.
   */
  async read<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    consistency: ReadConsistency = 'replica',
  ): Promise<pg.QueryResult<R>> {
    if (consistency === 'primary') return this.write<R>(text, values);
    const after = typeof consistency === 'object' ? consistency.after : undefined;
    for (const replica of this.healthyReplicas()) {
      try {
        if (after !== undefined && !(await this.hasReplayed(replica, after))) continue;
        return await replica.pool.query<R>(this.statement(text, values));
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        replica.downUntil = Date.now() + this.cooldownMs;
      }
    }
    return this.write<R>(text, values);
  }

  /** The primary's current write position: reads given `{ after: it }` see everything written so far. */
  async writePosition(client: pg.PoolClient | pg.Pool = this.writer.pool): Promise<WritePosition> {
    const { rows } = await client.query<{ lsn: string }>(
      this.statement(`select ${LSN_SQL('pg_current_wal_lsn()')}`, []),
    );
    return rows[0]!.lsn;
  }

  /**
   * A statement as `pg` runs it: with parameters, prepared under a name
   * derived from its text (`preparedStatements`); a script (no parameters)
   * as simple text, which may hold several statements.
   */
  statement(text: string, values: unknown[] | undefined): pg.QueryConfig {
    if (values === undefined || !this.prepare) return { text, ...(values ? { values } : {}) };
    let name = this.names.get(text);
    if (!name) {
      name = `parley_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      if (this.names.size < 10_000) this.names.set(text, name);
    }
    return { name, text, values };
  }

  /** Replication lag per replica at the last sample, in milliseconds. */
  replicaLag(): Record<string, number> {
    return Object.fromEntries(this.readers().map((r) => [r.name, r.lagMs]));
  }

  /**
   * Runs `fn` in a transaction on the primary; rolls back when it throws.
   * `afterCommit` runs on the same connection once the commit succeeded.
   */
  async transaction<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    afterCommit?: (client: pg.PoolClient) => Promise<void>,
  ): Promise<T> {
    const writer = this.writer;
    let client: pg.PoolClient;
    try {
      client = await writer.pool.connect();
    } catch (err) {
      throw this.writeFailure(writer, err);
    }
    // A checked-out client whose server dies between statements emits
    // 'error', and pg-pool listens only while a client is idle: without this
    // the process would crash on an uncaught 'error' event.
    let broken: unknown;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      await afterCommit?.(client);
      return result;
    } catch (err) {
      if (isWriterGone(err)) broken = err;
      else await client.query('ROLLBACK').catch(() => undefined);
      throw this.writeFailure(writer, err);
    } finally {
      client.off('error', onError);
      // A connection that failed is not given back to the pool.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /**
   * Asks every node whether it takes writes and on which timeline, and moves
   * writes to the newest one. Runs on a timer, and at once (at most every
   * 200 ms) when a write failed as if the primary were gone.
   */
  discover(): Promise<void> {
    if (this.discovering) return this.discovering;
    const wait = Math.max(0, this.lastDiscovery + 200 - Date.now());
    this.discovering = (async () => {
      if (wait > 0) await sleep(wait);
      try {
        await this.probeAll();
      } finally {
        this.lastDiscovery = Date.now();
        this.discovering = undefined;
      }
    })();
    return this.discovering;
  }

  /**
   * Looks at every node now: throws when none takes writes, else reports
   * which one does and what the others are (for readiness).
   */
  async check(): Promise<Record<string, unknown>> {
    await this.discover();
    if (this.writer.role !== 'primary')
      throw new Error(
        `no Postgres node takes writes (${this.nodes.map((n) => `${n.name}: ${n.role}`).join(', ')})`,
      );
    const others = this.nodes.filter((n) => n !== this.writer);
    return {
      primary: 'primary',
      ...(this.writer !== this.nodes[0] ? { writer: this.writer.name } : {}),
      replicas: Object.fromEntries(others.map((n) => [n.name, n.role])),
    };
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.discovering?.catch(() => undefined);
    await Promise.all(this.nodes.map((n) => n.pool.end()));
  }

  /** Turns a failed write into `UnavailableError` when the writer seems gone, and looks again. */
  private writeFailure(writer: Node, err: unknown): unknown {
    if (!isWriterGone(err)) return err;
    void this.discover().catch(() => undefined);
    return new UnavailableError(
      `Postgres ${writer.name} does not take writes now: ${(err as Error).message}`,
      { code: 'PG_ERR_UNAVAILABLE', cause: err },
    );
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        try {
          const { rows } = await withTimeout(
            node.pool.query<{ recovery: boolean; timeline: string | null }>(PROBE_SQL),
            this.probeTimeoutMs,
          );
          const row = rows[0]!;
          node.role = row.recovery ? 'replica' : 'primary';
          node.timeline = row.timeline ? Number.parseInt(row.timeline, 16) : 0;
        } catch {
          node.role = 'down';
        }
      }),
    );
    const writers = this.nodes.filter((n) => n.role === 'primary');
    // The newest timeline ever seen wins: a node on an older one is never
    // written to, even while the newest did not answer this time. On a tie
    // the current writer stays.
    this.newestTimeline = Math.max(this.newestTimeline, ...writers.map((n) => n.timeline));
    const current = writers.filter((n) => n.timeline === this.newestTimeline);
    for (const n of writers) if (n.timeline < this.newestTimeline) n.role = 'stale';
    const chosen = current.find((n) => n === this.writer) ?? current[0];
    if (writers.length > 1 || (writers.length > 0 && !chosen))
      this.onTopology?.({
        kind: 'several_writers',
        writers: writers.map((n) => ({ name: n.name, timeline: n.timeline })),
        chosen: chosen?.name ?? 'none',
      });
    if (!chosen) return;
    for (const n of current) if (n !== chosen) n.role = 'stale';
    if (chosen !== this.writer) {
      const from = this.writer.name;
      this.writer = chosen;
      this.primarySamples.length = 0;
      this.onTopology?.({
        kind: 'writer_changed',
        from,
        to: chosen.name,
        timeline: chosen.timeline,
      });
    }
  }

  /** Nodes that may serve reads: everything but the writer, a stale primary and a node found down. */
  private readers(): Node[] {
    return this.nodes.filter(
      (n) => n !== this.writer && (n.role === 'replica' || n.role === 'unknown'),
    );
  }

  private async hasReplayed(replica: Node, position: WritePosition): Promise<boolean> {
    if (comparePositions(replica.replayed, position) >= 0) return true;
    replica.replayed = await this.replayPosition(replica);
    return comparePositions(replica.replayed, position) >= 0;
  }

  private async replayPosition(replica: Node): Promise<WritePosition> {
    const { rows } = await replica.pool.query<{ lsn: string | null }>(
      `select ${LSN_SQL('pg_last_wal_replay_lsn()')}`,
    );
    return rows[0]?.lsn ?? '0';
  }

  /**
   * Lag in time: how long ago the primary was at the oldest position the
   * replica has not replayed yet (zero when it has replayed everything sampled).
   */
  private async sampleLag(): Promise<void> {
    const now = Date.now();
    this.primarySamples.push({ at: now, lsn: await this.writePosition() });
    const keepFrom = now - Math.max(10_000, this.maxLagMs * 2);
    while (this.primarySamples.length > 1 && this.primarySamples[0]!.at < keepFrom)
      this.primarySamples.shift();
    for (const replica of this.readers()) {
      try {
        replica.replayed = await this.replayPosition(replica);
      } catch {
        continue;
      }
      const behind = this.primarySamples.find((s) => comparePositions(replica.replayed, s.lsn) < 0);
      replica.lagMs = behind ? now - behind.at : 0;
    }
  }

  private healthyReplicas(): Node[] {
    const now = Date.now();
    const up = this.readers().filter((r) => r.downUntil <= now && r.lagMs <= this.maxLagMs);
    if (up.length === 0) return [];
    const start = this.next++ % up.length;
    return [...up.slice(start), ...up.slice(0, start)];
  }
}

/** A write failure that means the writer is gone or no longer the primary (read-only now). */
function isWriterGone(err: unknown): boolean {
  return isConnectionError(err) || (err as { code?: string }).code === '25006';
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
