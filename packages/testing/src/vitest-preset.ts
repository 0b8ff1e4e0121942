/**
 * The vitest configuration every Parley package uses.
 *
 * ```ts
 * // vitest.config.ts
 * import { defineParleyConfig } from '@parley/testing/vitest';
 * export default defineParleyConfig();
 * ```
 *
 * Tests live beside the code (`src/**\/*.test.ts`) or in `test/`. Files named
 * `*.int.test.ts` talk to real Kafka, Postgres and Redis (see `scripts/infra`).
 * Each run writes `reports/summary.json` ({@link SummaryReporter}), which
 * `scripts/test` adds up into the closing `N passed, N failed` line, and
 * vitest's own `reports/vitest.json`.
 */
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { SummaryReporter } from './summary-reporter.js';

/** Options for {@link defineParleyConfig}. */
export interface ParleyTestOptions {
  /** Per-test timeout. @default 30000 */
  testTimeoutMs?: number;
  /** Hook timeout (setup and teardown of real servers). @default 60000 */
  hookTimeoutMs?: number;
}

/** Builds the shared vitest configuration. */
export function defineParleyConfig(options: ParleyTestOptions = {}): ViteUserConfig {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeoutMs ?? 30_000,
      hookTimeout: options.hookTimeoutMs ?? 60_000,
      reporters: [
        'default',
        ['json', { outputFile: 'reports/vitest.json' }],
        new SummaryReporter({ outputFile: 'reports/summary.json' }),
      ],
      pool: 'forks',
      passWithNoTests: false,
    },
  });
}
