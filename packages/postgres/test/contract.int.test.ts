import { sqlContract } from '@parley/port-contracts';
import { infraEnv } from '@parley/testing';
import { PgDatabase } from '../src/index.js';

sqlContract('pg primary + streaming replica', async () => {
  const { pgPrimaryUrl, pgReplicaUrl } = infraEnv();
  return new PgDatabase({ primaryUrl: pgPrimaryUrl, replicaUrls: [pgReplicaUrl] });
});
