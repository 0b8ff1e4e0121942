import pg from 'pg';

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
  /** Called on pool-level errors (a backend died while idle). */
  onError?: (err: Error, pool: string) => void;
}

/** Where a read may go: `replica` tolerates replication lag; `primary` reads its own writes. */
export type ReadConsistency = 'replica' | 'primary';

interface Replica {
  name: string;
  pool: pg.Pool;
  downUntil: number;
}

/**
 * Postgres with writes on the primary and reads spread over replicas.
 * Use {@link write} (or {@link transaction}) for anything that changes data,
 * {@link read} for queries that may see slightly old data.
 */
export class PgRouter {
  readonly primary: pg.Pool;
  private readonly replicas: Replica[];
  private readonly cooldownMs: number;
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
    }));
    this.cooldownMs = options.replicaCooldownMs ?? 5_000;
  }

  /** Runs a statement on the primary. */
  write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.primary.query<R>(text, values);
  }

  /**
   * Runs a read-only statement on a healthy replica (round robin), falling back
   * to the next replica and then to the primary on connection failure.
   */
  async read<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    consistency: ReadConsistency = 'replica',
  ): Promise<pg.QueryResult<R>> {
    if (consistency === 'primary') return this.primary.query<R>(text, values);
    for (const replica of this.healthyReplicas()) {
      try {
        return await replica.pool.query<R>(text, values);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        replica.downUntil = Date.now() + this.cooldownMs;
      }
    }
    return this.primary.query<R>(text, values);
  }

  /** Runs `fn` in a transaction on the primary; rolls back when it throws. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
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
    await Promise.all([this.primary.end(), ...this.replicas.map((r) => r.pool.end())]);
  }

  private healthyReplicas(): Replica[] {
    const now = Date.now();
    const up = this.replicas.filter((r) => r.downUntil <= now);
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
