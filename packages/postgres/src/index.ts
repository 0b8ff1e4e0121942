/**
 * Postgres for Parley: writes to the primary, reads to replicas, read-your-writes
 * through WAL positions; writes follow a promoted replica without a restart.
 *
 * ```ts
 * const db = new PgDatabase({ primaryUrl, replicaUrls });
 * const { result, position } = await db.transaction((tx) => tx.query('insert ...', [...]));
 * const rows = await db.read('select ...', [...]);                      // a replica within the lag bound
 * const mine = await db.read('select ...', [...], { after: position });  // sees that write
 * ```
 */
export { PgRouter, type PgRouterOptions, type TopologyEvent, type NodeRole } from './router.js';
export { PgDatabase } from './pg-database.js';
export { postgresPlugin } from './plugin.js';
