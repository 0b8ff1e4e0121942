import type { ReadConsistency, SqlDatabase, SqlTransaction, WritePosition } from '@parley/ports';
import { PgRouter, type PgRouterOptions, type TopologyEvent } from './router.js';

/**
 * The real {@link SqlDatabase}: `pg` pools over a primary and its streaming
 * replicas, with read-your-writes through WAL positions.
 */
export class PgDatabase implements SqlDatabase {
  readonly router: PgRouter;
  private readonly writerListeners = new Set<(change: { to: string; timeline: number }) => void>();

  constructor(options: PgRouterOptions | PgRouter) {
    this.router =
      options instanceof PgRouter
        ? options
        : new PgRouter({
            ...options,
            onTopology: (event: TopologyEvent) => {
              options.onTopology?.(event);
              if (event.kind === 'writer_changed')
                for (const listener of this.writerListeners)
                  listener({ to: event.to, timeline: event.timeline });
            },
          });
  }

  /** Calls `listener` each time writes move to another node (a promotion); returns the unsubscribe. */
  onWriterChanged(listener: (change: { to: string; timeline: number }) => void): () => void {
    this.writerListeners.add(listener);
    return () => this.writerListeners.delete(listener);
  }

  async read<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    consistency?: ReadConsistency,
  ): Promise<R[]> {
    return (await this.router.read<R & Record<string, unknown>>(sql, params, consistency)).rows;
  }

  async write<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    options: { positionColumn?: string } = {},
  ): Promise<{ rows: R[]; position: WritePosition }> {
    const { rows } = await this.router.write<R & Record<string, unknown>>(sql, params);
    const reported = options.positionColumn ? rows[0]?.[options.positionColumn] : undefined;
    if (typeof reported === 'string' && reported) return { rows, position: reported };
    // Read after the commit (any connection: the position only grows), so a
    // replica that has replayed it has the statement's effects.
    const position = await this.router.writePosition();
    return { rows, position };
  }

  async transaction<T>(
    fn: (tx: SqlTransaction) => Promise<T>,
  ): Promise<{ result: T; position: WritePosition }> {
    let position: WritePosition = '0';
    const result = await this.router.transaction(
      async (client) => {
        const tx: SqlTransaction = {
          query: async <R extends object>(sql: string, params?: unknown[]) =>
            (await client.query<R & Record<string, unknown>>(this.router.statement(sql, params)))
              .rows,
          script: async (sql) => {
            await client.query(sql);
          },
        };
        return fn(tx);
      },
      // The position is read once COMMIT succeeded, on the same connection.
      async (client) => {
        position = await this.router.writePosition(client);
      },
    );
    return { result, position };
  }

  check(): Promise<Record<string, unknown>> {
    return this.router.check();
  }

  close(): Promise<void> {
    return this.router.close();
  }
}
