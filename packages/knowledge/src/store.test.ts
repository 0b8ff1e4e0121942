import { PgliteDatabase } from '@parley/embedded';
import { knowledgeStoreContract } from '../test/store.contract.js';

knowledgeStoreContract('PGlite', () => PgliteDatabase.open(), true);
