/**
 * Contract suites: call one per adapter from a `*.test.ts` (embedded) or
 * `*.int.test.ts` (real infrastructure) file.
 *
 * ```ts
 * import { cacheContract } from '@parley/ports/contract';
 * cacheContract('memory', async () => new MemoryCache(store));
 * ```
 */
export { busContract, type BusFactory } from './bus.contract.js';
export { sqlContract, type SqlFactory } from './sql.contract.js';
export { cacheContract, type CacheFactory } from './cache.contract.js';
