// Adds up every package's vitest JSON report into the closing line
// "N passed, N failed[, N skipped]", and exits non-zero when anything failed,
// including a lint, format, typecheck or build step (counted as one failure
// each time no test report explains it).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [checksFailed = '0', startedAt] = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

// Workspace packages: packages/*, services/*, deploy/ and bench/.
const workspaces = ['packages', 'services'].flatMap((root) =>
  readdirSync(root).map((name) => [root, name]),
);
for (const [root, name] of [...workspaces, ['.', 'deploy'], ['.', 'bench']]) {
  const report = join(root, name, 'reports', 'vitest.json');
  if (!existsSync(report)) continue;
  const json = JSON.parse(readFileSync(report, 'utf8'));
  totals.passed += json.numPassedTests;
  totals.failed += json.numFailedTests;
  totals.skipped += json.numPendingTests + json.numTodoTests;
  for (const file of json.testResults) {
    for (const t of file.assertionResults) {
      if (t.status === 'failed') failures.push(`${root}/${name}: ${t.fullName}`);
    }
    // A file that failed with no failed test: it did not load, or a hook
    // (beforeAll) failed and its tests were skipped. Either is a failure.
    if (file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed')) {
      totals.failed += 1;
      failures.push(
        `${root}/${name}: ${file.name} failed to load or set up: ${String(file.message).split('\n')[0]}`,
      );
    }
  }
}
if (checksFailed !== '0' && totals.failed === 0) {
  totals.failed = 1;
  failures.push('a format, lint, typecheck or build step failed (see above)');
}
if (failures.length > 0) console.log(`\nFailed:\n  ${failures.join('\n  ')}`);
if (startedAt)
  console.log(`\nTest command took ${Math.round(Date.now() / 1000 - Number(startedAt))} s`);
const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(totals.failed > 0 || checksFailed !== '0' ? 1 : 0);
