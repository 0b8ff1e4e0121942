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
 * `*.int.test.ts` talk to real Kafka, Postgres and Redis, or to the tools
 * `scripts/infra` builds; `*.browser.test.ts` drive headless Chromium.
 * - `pnpm test` (a package's `test` script) runs the others: no infrastructure;
 * - `pnpm test:int` runs those two kinds (`scripts/infra up` first);
 * - `vitest` by hand runs them all.
 * Each run writes `reports/summary.json` (`reports/int/` for `test:int`,
 * {@link SummaryReporter}), which `scripts/test` adds up into the closing
 * `N passed, N failed` line, and vitest's own `vitest.json` beside it.
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

/** Test files that need servers, tools or a browser: `test:int` runs them. */
const NEEDS_INFRASTRUCTURE = ['**/*.int.test.ts', '**/*.browser.test.ts'];

/** Which tests this run takes, from the package script that started it. */
function selection(): { include: string[]; exclude: string[]; reports: string } {
  const all = ['src/**/*.test.ts', 'test/**/*.test.ts'];
  switch (process.env.npm_lifecycle_event) {
    case 'test':
      return { include: all, exclude: NEEDS_INFRASTRUCTURE, reports: 'reports' };
    case 'test:int':
      return {
        include: NEEDS_INFRASTRUCTURE.map((p) => p.replace('**/', '{src,test}/**/')),
        exclude: [],
        reports: 'reports/int',
      };
    default:
      return { include: all, exclude: [], reports: 'reports' };
  }
}

/** Builds the shared vitest configuration. */
export function defineParleyConfig(options: ParleyTestOptions = {}): ViteUserConfig {
  const { include, exclude, reports } = selection();
  return defineConfig({
    test: {
      include,
      exclude: ['**/node_modules/**', '**/dist/**', ...exclude],
      testTimeout: options.testTimeoutMs ?? 30_000,
      hookTimeout: options.hookTimeoutMs ?? 60_000,
      reporters: [
        'default',
        ['json', { outputFile: `${reports}/vitest.json` }],
        new SummaryReporter({ outputFile: `${reports}/summary.json` }),
      ],
      pool: 'forks',
      passWithNoTests: false,
    },
  });
}
