import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, infraEnv, uniqueName } from '@parley/testing';
import { PgRouter } from '../src/index.js';

let db: PgRouter;
const table = uniqueName('router_test').replace(/-/g, '_');

beforeAll(async () => {
  const { pgPrimaryUrl, pgReplicaUrl } = infraEnv();
  db = new PgRouter({ primaryUrl: pgPrimaryUrl, replicaUrls: [pgReplicaUrl] });
  await db.write(`create table ${table} (id text primary key, body text not null)`);
});
afterAll(async () => {
  await db?.write(`drop table if exists ${table}`);
  await db?.close();
});

describe('PgRouter on a real primary and streaming replica', () => {
  it('prepares each parameterized statement once per connection, named by its text, and runs scripts as text', async () => {
    const one = new PgRouter({ primaryUrl: infraEnv().pgPrimaryUrl, maxPoolSize: 1 });
    const plain = new PgRouter({
      primaryUrl: infraEnv().pgPrimaryUrl,
      maxPoolSize: 1,
      preparedStatements: false,
    });
    try {
      const sql = `select body from ${table} where id = $1`;
      for (let i = 0; i < 3; i++) await one.write(sql, ['nobody']);
      const prepared = await one.write<{ name: string; statement: string }>(
        'select name, statement from pg_prepared_statements where statement = $1',
        [sql],
      );
      expect(prepared.rows).toEqual([{ name: one.statement(sql, []).name, statement: sql }]);
      expect(prepared.rows[0]!.name).toMatch(/^parley_[0-9a-f]{20}$/);
      // A script of several statements is not prepared.
      await one.write(`select 1; select 2`);
      // Switched off: nothing is prepared on the connection.
      await plain.write(sql, ['nobody']);
      const none = await plain.write('select count(*)::int as n from pg_prepared_statements', []);
      expect(none.rows[0]).toEqual({ n: 0 });
    } finally {
      await one.close();
      await plain.close();
    }
  });

  it('reads a row written on the primary from the replica', async () => {
    await db.write(`insert into ${table} (id, body) values ($1, $2)`, ['r1', 'hello']);
    const row = await eventually(
      async () =>
        (await db.read<{ body: string }>(`select body from ${table} where id = $1`, ['r1']))
          .rows[0],
      {
        what: 'the row on the replica',
      },
    );
    expect(row.body).toBe('hello');
  });

  it('sends reads to the replica and writes to the primary', async () => {
    const viaRead = await db.read<{ r: boolean }>('select pg_is_in_recovery() as r');
    const viaWrite = await db.write<{ r: boolean }>('select pg_is_in_recovery() as r');
    const ownWrites = await db.read<{ r: boolean }>(
      'select pg_is_in_recovery() as r',
      [],
      'primary',
    );
    expect(viaRead.rows[0]!.r).toBe(true);
    expect(viaWrite.rows[0]!.r).toBe(false);
    expect(ownWrites.rows[0]!.r).toBe(false);
  });

  it('refuses a write sent down the read path', async () => {
    await expect(
      db.read(`insert into ${table} (id, body) values ('x', 'y')`),
    ).rejects.toMatchObject({ code: '25006' });
  });

  it('reports the role of every pool for readiness', async () => {
    expect(await db.check()).toEqual({ primary: 'primary', replicas: { 'replica-1': 'replica' } });
  });

  it('falls back to the primary when the replica is unreachable', async () => {
    const { pgPrimaryUrl } = infraEnv();
    const degraded = new PgRouter({
      primaryUrl: pgPrimaryUrl,
      replicaUrls: ['postgres://parley:parley@127.0.0.1:1/parley'],
      connectionTimeoutMs: 1_000,
    });
    try {
      const { rows } = await degraded.read<{ r: boolean }>('select pg_is_in_recovery() as r');
      expect(rows[0]!.r).toBe(false);
      expect(await degraded.check()).toEqual({
        primary: 'primary',
        replicas: { 'replica-1': 'down' },
      });
    } finally {
      await degraded.close();
    }
  });

  it('rolls back a failed transaction', async () => {
    await expect(
      db.transaction(async (client) => {
        await client.query(`insert into ${table} (id, body) values ('t1', 'a')`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.read(`select 1 from ${table} where id = 't1'`, [], 'primary')).rowCount).toBe(
      0,
    );
  });
});

describe('PgRouter with a lagging replica', () => {
  it('reads its own write from the primary while the replica has not replayed it', async () => {
    const { pgPrimaryUrl, pgReplicaUrl } = infraEnv();
    const lagging = new PgRouter({
      primaryUrl: pgPrimaryUrl,
      replicaUrls: [pgReplicaUrl],
      lagSampleIntervalMs: 100,
      maxReplicaLagMs: 60_000,
    });
    const replica = new PgRouter({ primaryUrl: pgReplicaUrl });
    try {
      await replica.primary.query('select pg_wal_replay_pause()');
      await db.write(`insert into ${table} (id, body) values ($1, $2)`, ['lag1', 'fresh']);
      const after = await lagging.writePosition();
      const stale = await lagging.read(`select body from ${table} where id = $1`, ['lag1']);
      const mine = await lagging.read<{ body: string }>(
        `select body, pg_is_in_recovery() as r from ${table} where id = $1`,
        ['lag1'],
        { after },
      );
      expect(stale.rowCount).toBe(0);
      expect(mine.rows).toEqual([{ body: 'fresh', r: false }]);
    } finally {
      await replica.primary.query('select pg_wal_replay_resume()');
      await replica.close();
      await lagging.close();
    }
  });

  it('stops reading from a replica that falls behind the lag bound', async () => {
    const { pgPrimaryUrl, pgReplicaUrl } = infraEnv();
    const bounded = new PgRouter({
      primaryUrl: pgPrimaryUrl,
      replicaUrls: [pgReplicaUrl],
      lagSampleIntervalMs: 50,
      maxReplicaLagMs: 300,
    });
    const replica = new PgRouter({ primaryUrl: pgReplicaUrl });
    try {
      await replica.primary.query('select pg_wal_replay_pause()');
      await db.write(`insert into ${table} (id, body) values ($1, $2)`, ['lag2', 'x']);
      const routed = await eventually(
        async () => {
          const { rows } = await bounded.read<{ r: boolean }>('select pg_is_in_recovery() as r');
          return rows[0]!.r ? undefined : 'primary';
        },
        { what: 'reads to move to the primary', timeoutMs: 5_000 },
      );
      expect(routed).toBe('primary');
      expect(bounded.replicaLag()['replica-1']).toBeGreaterThan(300);
    } finally {
      await replica.primary.query('select pg_wal_replay_resume()');
      await replica.close();
      await bounded.close();
    }
  });
});
