import { defineParleyConfig } from '@parley/testing/vitest';

// helm and kustomize runs take seconds each.
export default defineParleyConfig({ testTimeoutMs: 120_000 });
