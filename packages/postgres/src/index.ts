/**
 * Postgres for Parley: writes to the primary, reads to replicas.
 *
 * ```ts
 * const db = new PgRouter({ primaryUrl, replicaUrls });
 * await db.write('insert into messages ...', [...]);
 * const { rows } = await db.read('select ...', [...]);           // a replica
 * const mine = await db.read('select ...', [...], 'primary');     // read-your-writes
 * ```
 */
export { PgRouter, type PgRouterOptions, type ReadConsistency } from './router.js';
export { postgresPlugin } from './plugin.js';
