import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import type { SqlDatabase, SqlTransaction, ReadConsistency } from '@parley/ports';

/**
 * Postgres compiled to WebAssembly, in this process: the embedded
 * {@link SqlDatabase}. One connection, so transactions run one after another
 * and every read sees every write (positions are always `'0'`). Data lives in
 * `dataDir`, or in memory when it is omitted.
 */
export class PgliteDatabase implements SqlDatabase {
  private constructor(private readonly db: PGlite) {}

  /** Opens (creating when needed) the database in `dataDir`. */
  static async open(dataDir?: string): Promise<PgliteDatabase> {
    // pgvector comes with PGlite: knowledge search uses it (the migrations enable it when present).
    const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
    return new PgliteDatabase(db);
  }

  async read<R extends object = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    _consistency?: ReadConsistency,
  ): Promise<R[]> {
    return (await this.db.query<R>(sql, params)).rows;
  }

  async write<R extends object = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    _options?: { positionColumn?: string },
  ): Promise<{ rows: R[]; position: string }> {
    return { rows: (await this.db.query<R>(sql, params)).rows, position: '0' };
  }

  async transaction<T>(
    fn: (tx: SqlTransaction) => Promise<T>,
  ): Promise<{ result: T; position: string }> {
    const result = await this.db.transaction((tx) =>
      fn({
        query: async <R extends object>(sql: string, params: unknown[] = []) =>
          (await tx.query<R>(sql, params)).rows,
        script: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
    return { result, position: '0' };
  }

  async check(): Promise<Record<string, unknown>> {
    await this.db.query('select 1');
    return { mode: 'pglite' };
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
