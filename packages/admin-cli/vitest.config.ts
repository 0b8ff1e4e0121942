import { defineParleyConfig } from '@parley/testing/vitest';

export default defineParleyConfig();
