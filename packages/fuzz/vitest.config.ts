import { defineParleyConfig } from '@parley/testing/vitest';

export default defineParleyConfig({ testTimeoutMs: 60_000 });
