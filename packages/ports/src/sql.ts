/**
 * Where a read may run. `replica` tolerates replication lag; `primary` always
 * sees the latest data; `{ after }` must see at least the write that returned
 * that position (read-your-writes), on a replica that has replayed it or else
 * on the primary.
 */
export type ReadConsistency = 'replica' | 'primary' | { after: WritePosition };

/**
 * An opaque, comparable position in the write log (Postgres: a WAL LSN as a
 * zero-padded hex string). Adapters without replicas return `'0'`.
 */
export type WritePosition = string;

/** A statement runner inside one transaction on the primary. */
export interface SqlTransaction {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs several `;`-separated statements without parameters (migrations). */
  script(sql: string): Promise<void>;
}

/**
 * Postgres as Parley uses it: transactions on the primary, reads routed by
 * consistency. Implemented by `pg` (with replicas) and by PGlite (embedded).
 */
export interface SqlDatabase {
  /** Runs a read-only statement where `consistency` allows. @default 'replica' */
  read<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    consistency?: ReadConsistency,
  ): Promise<R[]>;
  /**
   * Runs one statement on the primary in a transaction of its own (one round
   * trip, where {@link transaction} takes one per statement plus BEGIN and
   * COMMIT); returns its rows and the write position to pass to later reads.
   * With `positionColumn`, the statement reports the position itself in that
   * column of its first row, read after its own commit (a procedure that
   * commits): no second round trip to ask for it.
   */
  write<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    options?: { positionColumn?: string },
  ): Promise<{ rows: R[]; position: WritePosition }>;
  /**
   * Runs `fn` in a transaction on the primary, rolling back when it throws;
   * returns its result and the write position to pass to later reads.
   */
  transaction<T>(
    fn: (tx: SqlTransaction) => Promise<T>,
  ): Promise<{ result: T; position: WritePosition }>;
  /**
   * Calls `listener` each time writes move to another node (a replica was
   * promoted, in this region or another; each promotion starts a new
   * timeline); returns the unsubscribe. Absent
   * where there is only one node (the embedded database).
   */
  onWriterChanged?(listener: (change: { to: string; timeline: number }) => void): () => void;
  /** Details for readiness; throws when the primary is unusable. */
  check(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}
