import pg from 'pg';
import { comparePositions, type ReadConsistency, type WritePosition } from '@parley/ports';

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
  /** How often replicas' replay positions (and so their lag) are sampled. @default 500 */
  lagSampleIntervalMs?: number;
  /** Called on pool-level errors (a backend died while idle). */
  onError?: (err: Error, pool: string) => void;
}

interface Replica {
  name: string;
  pool: pg.Pool;
  downUntil: number;
  /** Last replay position seen on the replica. */
  replayed: WritePosition;
  /** How far behind the primary it was at the last sample. */
  lagMs: number;
}

/** `pg_lsn` text (`16/B374D848`) as a fixed-width hex position that compares as a number. */
export const LSN_SQL = (expr: string) =>
  `lpad(to_hex((${expr} - '0/0'::pg_lsn)::bigint), 16, '0') as lsn`;

/**
 * Postgres with writes on the primary and reads spread over replicas.
 * Use {@link write} (or {@link transaction}) for anything that changes data,
 * {@link read} for queries that may see slightly old data.
 */
export class PgRouter {
  readonly primary: pg.Pool;
  private readonly replicas: Replica[];
  private readonly cooldownMs: number;
  private readonly maxLagMs: number;
  /** Recent primary positions with when they were seen, oldest first (for lag in time). */
  private readonly primarySamples: Array<{ at: number; lsn: WritePosition }> = [];
  private readonly sampler: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(options: PgRouterOptions) {
    const common = {
      max: options.maxPoolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      idleTimeoutMillis: 30_000,
    };
    const pool = (url: string, name: string) => {
      const p = new pg.Pool({
        connectionString: url,
        application_name: `parley-${name}`,
        ...common,
      });
      p.on('error', (err) => options.onError?.(err, name));
      return p;
    };
    this.primary = pool(options.primaryUrl, 'primary');
    this.replicas = (options.replicaUrls ?? []).map((url, i) => ({
      name: `replica-${i + 1}`,
      pool: pool(url, `replica-${i + 1}`),
      downUntil: 0,
      replayed: '0',
      lagMs: 0,
    }));
    this.cooldownMs = options.replicaCooldownMs ?? 5_000;
    this.maxLagMs = options.maxReplicaLagMs ?? 2_000;
    if (this.replicas.length > 0) {
      const every = options.lagSampleIntervalMs ?? 500;
      this.sampler = setInterval(() => void this.sampleLag().catch(() => undefined), every);
      this.sampler.unref();
    }
  }

  /** Runs a statement on the primary. */
  write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.primary.query<R>(text, values);
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
    if (consistency === 'primary') return this.primary.query<R>(text, values);
    const after = typeof consistency === 'object' ? consistency.after : undefined;
    for (const replica of this.healthyReplicas()) {
      try {
        if (after !== undefined && !(await this.hasReplayed(replica, after))) continue;
        return await replica.pool.query<R>(text, values);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        replica.downUntil = Date.now() + this.cooldownMs;
      }
    }
    return this.primary.query<R>(text, values);
  }

  /** The primary's current write position: reads given `{ after: it }` see everything written so far. */
  async writePosition(client: pg.PoolClient | pg.Pool = this.primary): Promise<WritePosition> {
    const { rows } = await client.query<{ lsn: string }>(
      `select ${LSN_SQL('pg_current_wal_lsn()')}`,
    );
    return rows[0]!.lsn;
  }

  /** Replication lag per replica at the last sample, in milliseconds. */
  replicaLag(): Record<string, number> {
    return Object.fromEntries(this.replicas.map((r) => [r.name, r.lagMs]));
  }

  /**
   * Runs `fn` in a transaction on the primary; rolls back when it throws.
   * `afterCommit` runs on the same connection once the commit succeeded.
   */
  async transaction<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    afterCommit?: (client: pg.PoolClient) => Promise<void>,
  ): Promise<T> {
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      await afterCommit?.(client);
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Checks each pool; the primary must accept writes and each replica must be in recovery. */
  async check(): Promise<Record<string, unknown>> {
    const role = async (pool: pg.Pool) =>
      (await pool.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]?.r
        ? 'replica'
        : 'primary';
    const primaryRole = await role(this.primary);
    if (primaryRole !== 'primary')
      throw new Error('the configured primary is in recovery (read-only)');
    const replicas: Record<string, string> = {};
    for (const replica of this.replicas) {
      replicas[replica.name] = await role(replica.pool).catch(() => 'down');
    }
    return { primary: primaryRole, replicas };
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all([this.primary.end(), ...this.replicas.map((r) => r.pool.end())]);
  }

  private async hasReplayed(replica: Replica, position: WritePosition): Promise<boolean> {
    if (comparePositions(replica.replayed, position) >= 0) return true;
    replica.replayed = await this.replayPosition(replica);
    return comparePositions(replica.replayed, position) >= 0;
  }

  private async replayPosition(replica: Replica): Promise<WritePosition> {
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
    for (const replica of this.replicas) {
      try {
        replica.replayed = await this.replayPosition(replica);
      } catch {
        continue;
      }
      const behind = this.primarySamples.find((s) => comparePositions(replica.replayed, s.lsn) < 0);
      replica.lagMs = behind ? now - behind.at : 0;
    }
  }

  private healthyReplicas(): Replica[] {
    const now = Date.now();
    const up = this.replicas.filter((r) => r.downUntil <= now && r.lagMs <= this.maxLagMs);
    if (up.length === 0) return [];
    const start = this.next++ % up.length;
    return [...up.slice(start), ...up.slice(0, start)];
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08004',
]);

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return (
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)
  );
}
