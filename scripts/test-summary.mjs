// Adds up every package's reports/summary.json (written by @parley/testing's
// SummaryReporter, in the vitest preset every package uses) into the closing
// line "N passed, N failed[, N skipped]", and exits non-zero when anything
// failed, including a lint, format, typecheck or build step (counted as one
// failure each time no test report explains it). A test that never ran because
// its suite's set-up failed is in the report as failed, not skipped.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [checksFailed = '0', startedAt] = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

// Workspace packages: packages/*, services/*, deploy/, bench/ and e2e/.
const workspaces = ['packages', 'services'].flatMap((root) =>
  existsSync(root) ? readdirSync(root).map((name) => [root, name]) : [],
);
// Each package's `test` run writes reports/summary.json, its `test:int` run reports/int/.
const reports = [...workspaces, ['.', 'deploy'], ['.', 'bench'], ['.', 'e2e']].flatMap(
  ([root, name]) => [
    [join(root, name), join(root, name, 'reports', 'summary.json')],
    [join(root, name), join(root, name, 'reports', 'int', 'summary.json')],
  ],
);
for (const [where, report] of reports) {
  if (!existsSync(report)) continue;
  const summary = JSON.parse(readFileSync(report, 'utf8'));
  totals.passed += summary.passed;
  totals.failed += summary.failed;
  totals.skipped += summary.skipped;
  for (const failure of summary.failures) failures.push(`${where}: ${failure}`);
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
