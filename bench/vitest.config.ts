import { defineParleyConfig } from '@parley/testing/vitest';

// The short load run starts the platform, opens 1,000 sessions and soaks for a minute.
export default defineParleyConfig({ testTimeoutMs: 240_000 });
