/**
 * A vitest reporter that writes what `scripts/test` adds up into its closing
 * line, `N passed, N failed[, N skipped]`:
 *
 * ```json
 * { "passed": 12, "failed": 3, "skipped": 1, "failures": ["test/a.test.ts > a suite > a test: why"] }
 * ```
 *
 * Unlike vitest's JSON report, it tells a test skipped on purpose (`it.skip`,
 * `skipIf`, `todo`, `ctx.skip()`) from one that never ran because the
 * `beforeAll` of its suite or file threw, as when a service it starts is not
 * built. Those count as failed, and a file that could not even be collected
 * counts as one failure, so the closing line is never healthier than the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Reporter, TestCase, TestModule, TestSuite, Vitest } from 'vitest/node';

/** What {@link SummaryReporter} writes. */
export interface TestSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** One line per failure: where, and the first line of why. */
  failures: string[];
}

/** Options for {@link SummaryReporter}. */
export interface SummaryReporterOptions {
  /** Where to write the summary, relative to the vitest root. */
  outputFile: string;
}

interface WithErrors {
  errors(): ReadonlyArray<{ message?: string }>;
}

const firstLine = (errors: ReadonlyArray<{ message?: string }>) =>
  String(errors[0]?.message ?? 'no message').split('\n')[0];

/** The errors of the nearest enclosing suite or module that has some (a failed beforeAll). */
function setUpErrors(test: TestCase): ReadonlyArray<{ message?: string }> | undefined {
  for (let at: TestSuite | TestModule = test.parent; ; at = at.parent) {
    const errors = (at as WithErrors).errors();
    if (errors.length > 0) return errors;
    if (at.type === 'module') return undefined;
  }
}

export class SummaryReporter implements Reporter {
  private root = process.cwd();

  constructor(private readonly options: SummaryReporterOptions) {}

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandled: ReadonlyArray<{ message?: string }>,
  ): void {
    const summary: TestSummary = { passed: 0, failed: 0, skipped: 0, failures: [] };
    for (const module of modules) {
      const file = relative(this.root, module.moduleId);
      let tests = 0;
      for (const test of module.children.allTests()) {
        tests += 1;
        const result = test.result();
        const where = `${file} > ${test.fullName}`;
        if (result.state === 'passed') summary.passed += 1;
        else if (result.state === 'failed') {
          summary.failed += 1;
          summary.failures.push(`${where}: ${firstLine(result.errors)}`);
        } else {
          const errors = setUpErrors(test);
          if (errors && test.options.mode !== 'skip' && test.options.mode !== 'todo') {
            summary.failed += 1;
            summary.failures.push(`${where}: not run, its set-up failed: ${firstLine(errors)}`);
          } else summary.skipped += 1;
        }
      }
      const errors = (module as WithErrors).errors();
      if (tests === 0 && (errors.length > 0 || module.state() === 'failed')) {
        summary.failed += 1;
        summary.failures.push(`${file}: failed to load: ${firstLine(errors)}`);
      }
    }
    for (const error of unhandled) {
      summary.failed += 1;
      summary.failures.push(`unhandled error: ${firstLine([error])}`);
    }
    const out = isAbsolute(this.options.outputFile)
      ? this.options.outputFile
      : resolve(this.root, this.options.outputFile);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
  }
}
