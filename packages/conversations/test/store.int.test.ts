import { PgDatabase } from '@parley/postgres';
import { infraEnv } from '@parley/testing';
import { storeContract } from './store.contract.js';

storeContract('pg primary + streaming replica', async () => {
  const { pgPrimaryUrl, pgReplicaUrl } = infraEnv();
  return new PgDatabase({ primaryUrl: pgPrimaryUrl, replicaUrls: [pgReplicaUrl] });
});
