import { PgDatabase } from '@parley/postgres';
import { infraEnv } from '@parley/testing';
import { knowledgeStoreContract } from './store.contract.js';

knowledgeStoreContract(
  'pg primary + streaming replica',
  async () => {
    const env = infraEnv();
    return new PgDatabase({ primaryUrl: env.pgPrimaryUrl, replicaUrls: [env.pgReplicaUrl] });
  },
  false,
);
