import { PgliteDatabase } from '@parley/embedded';
import { storeContract } from './store.contract.js';

storeContract('PGlite', () => PgliteDatabase.open());
