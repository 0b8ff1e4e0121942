import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '@parley/ports';

/** Opens a database (the real adapter: primary plus replica). */
export type SqlFactory = () => Promise<SqlDatabase>;

/** The behaviour every {@link SqlDatabase} adapter must have. */
export function sqlContract(name: string, factory: SqlFactory): void {
  describe(`SqlDatabase contract: ${name}`, () => {
    let db: SqlDatabase;
    const table = `contract_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    beforeAll(async () => {
      db = await factory();
      await db.transaction((tx) =>
        tx.query(`create table ${table} (id text primary key, n bigint not null)`),
      );
    });
    afterAll(async () => {
      await db.transaction((tx) => tx.query(`drop table if exists ${table}`));
      await db.close();
    });

    it('reads its own write when given the write position', async () => {
      const id = randomUUID();
      const { position } = await db.transaction((tx) =>
        tx.query(`insert into ${table} (id, n) values ($1, 1)`, [id]),
      );
      const rows = await db.read<{ n: string }>(`select n from ${table} where id = $1`, [id], {
        after: position,
      });
      expect(rows.map((r) => Number(r.n))).toEqual([1]);
    });

    it('rolls back everything a failed transaction wrote', async () => {
      const id = randomUUID();
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`insert into ${table} (id, n) values ($1, 1)`, [id]);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await db.read(`select 1 from ${table} where id = $1`, [id], 'primary')).toEqual([]);
    });

    it('reports constraint violations with the Postgres error code', async () => {
      const id = randomUUID();
      await db.transaction((tx) => tx.query(`insert into ${table} (id, n) values ($1, 1)`, [id]));
      const err = await db
        .transaction((tx) => tx.query(`insert into ${table} (id, n) values ($1, 2)`, [id]))
        .catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('23505');
    });

    it('serializes concurrent increments of one row through row locks', async () => {
      const id = randomUUID();
      await db.transaction((tx) => tx.query(`insert into ${table} (id, n) values ($1, 0)`, [id]));
      const seen = await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const [row] = await tx.query<{ n: string }>(
              `update ${table} set n = n + 1 where id = $1 returning n`,
              [id],
            );
            return Number(row?.n);
          }),
        ),
      );
      expect(seen.map((s) => s.result).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('answers its readiness check', async () => {
      await expect(db.check()).resolves.toBeTypeOf('object');
    });
  });
}
