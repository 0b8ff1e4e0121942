/**
 * The embedded adapters behind the one-command mode: same ports, no servers.
 *
 * ```ts
 * const broker = new MemoryBroker();
 * const cacheStore = new MemoryCacheStore();
 * const db = await PgliteDatabase.open('.parley/data');
 * startChat({ bus: broker.bus(), cache: cacheStore.client(), db, ... });
 * ```
 */
export { MemoryBroker, type MemoryBrokerOptions, type DeadLetter } from './memory-bus.js';
export { MemoryCache, MemoryCacheStore, type MemoryCacheOptions } from './memory-cache.js';
export { PgliteDatabase } from './pglite-database.js';
export { embeddedPorts, type EmbeddedPortsOptions } from './plugin.js';
