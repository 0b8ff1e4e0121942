import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestSummary } from '../src/summary-reporter.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const SUMMARY_SCRIPT = join(HERE, '../../../scripts/test-summary.mjs');
const VITEST = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const scratch = mkdtempSync(join(tmpdir(), 'parley-summary-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the fixture suite `name` with the SummaryReporter writing to `out`. */
async function runFixture(name: string, out: string): Promise<TestSummary> {
  await run(process.execPath, [VITEST, 'run', '--root', join(HERE, 'fixtures', name)], {
    env: { ...process.env, PARLEY_SUMMARY_OUT: out },
  }).catch(() => undefined); // it fails, as it should
  return JSON.parse(readFileSync(out, 'utf8')) as TestSummary;
}

/** scripts/test-summary.mjs run in `dir`: its exit code and its last line. */
async function closingLine(dir: string) {
  const result = await run(process.execPath, [SUMMARY_SCRIPT, '0'], { cwd: dir }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => err,
  );
  return {
    code: result.code,
    last: result.stdout.trim().split('\n').at(-1),
    output: result.stdout,
  };
}

describe("the test command's closing line", () => {
  it('counts the tests of a suite whose set-up failed as failed, never as skipped', async () => {
    const summary = await runFixture('setup-fails', join(scratch, 'setup-fails.json'));
    expect(summary).toMatchObject({ passed: 1, failed: 4, skipped: 3 });
    expect(summary.failures).toEqual([
      expect.stringMatching(
        /suite\.fixture\.ts > a suite whose set-up fails > first scenario: not run, its set-up failed: Cannot find module @parley\/hitl/,
      ),
      expect.stringContaining('second scenario: not run, its set-up failed'),
      expect.stringContaining('third scenario: not run, its set-up failed'),
      expect.stringMatching(/a suite that runs > fails: expected 1 to be 2/),
    ]);
  }, 60_000);

  it('counts a test file that fails to load as one failure', async () => {
    const summary = await runFixture('fails-to-load', join(scratch, 'fails-to-load.json'));
    expect(summary).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
    expect(summary.failures[0]).toMatch(/broken\.fixture\.ts: failed to load: .*no-such-module/);
  }, 60_000);

  it('adds up every workspace folder, e2e/ included, and exits non-zero on a failure', async () => {
    const dir = join(scratch, 'repo');
    for (const ws of ['packages/gateway', 'services/hitl', 'e2e', 'bench']) {
      mkdirSync(join(dir, ws, 'reports'), { recursive: true });
    }
    await runFixture('setup-fails', join(dir, 'e2e/reports/summary.json'));
    await runFixture('fails-to-load', join(dir, 'services/hitl/reports/summary.json'));
    const { code, last, output } = await closingLine(dir);
    expect(last).toBe('1 passed, 5 failed, 3 skipped');
    expect(code).toBe(1);
    expect(output).toContain('e2e: suite.fixture.ts > a suite whose set-up fails > first scenario');
    expect(output).toContain('services/hitl: broken.fixture.ts: failed to load');
  }, 120_000);
});
