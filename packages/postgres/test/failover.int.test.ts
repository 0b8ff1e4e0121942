import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnavailableError } from '@parley/ports';
import { expectEventually, pgQuery, startPgCluster, type PgCluster } from '@parley/testing';
import { PgRouter, type TopologyEvent } from '../src/index.js';

/**
 * A scratch primary and replica of this test's own: the primary crashes, the
 * replica is promoted, and the same router (no restart, no new URLs) moves
 * its writes there; the old primary coming back unrewound is never written to.
 */
let cluster: PgCluster;
let router: PgRouter;
const events: TopologyEvent[] = [];

beforeAll(async () => {
  cluster = await startPgCluster();
  router = new PgRouter({
    primaryUrl: cluster.primary.url,
    replicaUrls: [cluster.replica.url],
    topologyIntervalMs: 500,
    connectionTimeoutMs: 1_000,
    onTopology: (e) => events.push(e),
  });
  await router.write('create table notes (id int primary key, body text not null)');
}, 120_000);
afterAll(async () => {
  await router?.close();
  await cluster?.destroy();
});

describe('PgRouter when the primary fails over', () => {
  it('fails writes as unavailable while no node takes them, then writes to the promoted replica without a restart', async () => {
    await router.write(`insert into notes values (1, 'before the crash')`);
    await expectEventually(async () =>
      expect((await router.read('select count(*)::int as n from notes')).rows[0]?.n).toBe(1),
    );
    await cluster.crash(cluster.primary);

    const failed = await router.write(`insert into notes values (2, 'lost')`).catch((e) => e);
    expect(isUnavailableError(failed)).toBe(true);
    expect(failed.code).toBe('PG_ERR_UNAVAILABLE');
    const inTx = await router
      .transaction((c) => c.query(`insert into notes values (2, 'lost')`))
      .catch((e) => e);
    expect(inTx.code).toBe('PG_ERR_UNAVAILABLE');

    await pgQuery(cluster.replica.url, 'select pg_promote(true, 60)');
    await expectEventually(
      async () => void (await router.write(`insert into notes values (2, 'after')`)),
      {
        timeoutMs: 15_000,
      },
    );
    expect(router.writerName).toBe('replica-1');
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'writer_changed', from: 'primary', to: 'replica-1' }),
    );
    const rows = (await router.read('select id, body from notes order by id', [], 'primary')).rows;
    expect(rows).toEqual([
      { id: 1, body: 'before the crash' },
      { id: 2, body: 'after' },
    ]);
    expect(await router.check()).toMatchObject({
      writer: 'replica-1',
      replicas: { primary: 'down' },
    });
  });

  it('never writes to the old primary when it comes back on its old timeline (no split brain)', async () => {
    await cluster.start(cluster.primary);
    // The old primary takes writes again (nobody rewound it), on timeline 1.
    expect((await pgQuery(cluster.primary.url, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(
      false,
    );
    await router.discover();
    expect(await router.check()).toMatchObject({
      writer: 'replica-1',
      replicas: { primary: 'stale' },
    });
    expect(events).toContainEqual(
      expect.objectContaining({ kind: 'several_writers', chosen: 'replica-1' }),
    );
    await router.write(`insert into notes values (3, 'still on the new primary')`);
    // Reads skip the stale node too: it does not have row 3.
    for (let i = 0; i < 4; i++)
      expect((await router.read('select count(*)::int as n from notes')).rows[0]?.n).toBe(3);
    const old = await pgQuery(cluster.primary.url, 'select count(*)::int as n from notes');
    expect(old[0]?.n).toBe(1);

    // The new primary goes away too: the old one is still never chosen.
    await cluster.crash(cluster.replica);
    await router.discover();
    expect(router.writerName).toBe('replica-1');
    await expect(router.check()).rejects.toThrow(/no Postgres node takes writes/);
    const refused = await router.write(`insert into notes values (4, 'nowhere')`).catch((e) => e);
    expect(refused.code).toBe('PG_ERR_UNAVAILABLE');
    expect((await pgQuery(cluster.primary.url, 'select count(*)::int as n from notes'))[0]?.n).toBe(
      1,
    );
  });
});
