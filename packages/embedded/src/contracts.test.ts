import { busContract, cacheContract, sqlContract } from '@parley/port-contracts';
import { MemoryBroker } from './memory-bus.js';
import { MemoryCacheStore } from './memory-cache.js';
import { PgliteDatabase } from './pglite-database.js';

const broker = new MemoryBroker({ retry: { retryBackoffMs: 20 } });
busContract('in-process broker', async () => ({ bus: broker.bus(), close: async () => {} }));

const store = new MemoryCacheStore();
cacheContract('memory', async () => store.client());

sqlContract('PGlite', () => PgliteDatabase.open());
