import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlContract } from '@parley/port-contracts';
import { makeTestCa, startPgCluster, type PgCluster, type TestCa } from '@parley/testing';
import { PgDatabase } from '../src/index.js';

/**
 * The SQL contract over TLS with `sslmode=verify-full` and a private CA
 * (`sslrootcert`, a file the chart mounts), as managed Postgres is reached:
 * a primary and streaming replica of the test's own serving TLS.
 */
let ca: TestCa;
let cluster: PgCluster;
const verified = (url: string, caFile = ca.caFile) =>
  `${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`;

beforeAll(async () => {
  ca = await makeTestCa(process.getuid?.() === 0 ? { owner: 'postgres' } : {});
  cluster = await startPgCluster({ tls: ca });
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
  await ca?.destroy();
});

sqlContract(
  'pg over TLS (verify-full, private CA)',
  async () =>
    new PgDatabase({
      primaryUrl: verified(cluster.primary.url),
      replicaUrls: [verified(cluster.replica.url)],
    }),
);

describe('Postgres over TLS', () => {
  it('encrypts the connections it makes, and refuses a server its CA did not sign', async () => {
    const db = new PgDatabase({ primaryUrl: verified(cluster.primary.url) });
    try {
      const [row] = await db.read<{ ssl: boolean }>(
        'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
        [],
        'primary',
      );
      expect(row?.ssl).toBe(true);
    } finally {
      await db.close();
    }
    const other = await makeTestCa();
    const untrusting = new PgDatabase({ primaryUrl: verified(cluster.primary.url, other.caFile) });
    try {
      await expect(untrusting.check()).rejects.toThrow();
    } finally {
      await untrusting.close();
      await other.destroy();
    }
  }, 30_000);
});
