#!/usr/bin/env node
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CHECKS } from './checks.js';
import { failed, pushResults, runChecks } from './run.js';

const USAGE = `parley-dr check [--only name,...] [--limit N] [--fail-on warning|critical] [--pushgateway URL] [--json]

Runs the integrity checks against PARLEY_PG_PRIMARY_URL (read-only) and prints
one line per check. Exits 1 when a check of the --fail-on severity or worse
(default: warning, so any) found rows or could not run, 2 on bad usage.
Checks: ${CHECKS.map((c) => c.name).join(', ')}.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'check') {
    process.stderr.write(`${USAGE}\n`);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        only: { type: 'string' },
        limit: { type: 'string', default: '1000' },
        pushgateway: { type: 'string' },
        json: { type: 'boolean', default: false },
        'fail-on': { type: 'string', default: 'warning' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const limit = Number(values.limit);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !CHECKS.some((c) => c.name === n)) ?? [];
  const failOn = values['fail-on'];
  if (failOn !== 'warning' && failOn !== 'critical') {
    process.stderr.write(`--fail-on must be warning or critical\n${USAGE}\n`);
    return 2;
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000 || unknown.length > 0) {
    process.stderr.write(
      `bad --limit or unknown check: ${unknown.join(', ') || values.limit}\n${USAGE}\n`,
    );
    return 2;
  }
  const url = process.env.PARLEY_PG_PRIMARY_URL;
  if (!url) {
    process.stderr.write('PARLEY_PG_PRIMARY_URL is not set\n');
    return 2;
  }
  const client = new pg.Client({ connectionString: url, application_name: 'parley-integrity' });
  await client.connect();
  try {
    const results = await runChecks(client, {
      checks: only ? CHECKS.filter((c) => only.includes(c.name)) : CHECKS,
      limit,
      onResult: (r) => {
        // One line per check, passed or not (the sample carries ids, never message text).
        const line = values.json
          ? JSON.stringify({
              check: r.name,
              severity: r.severity,
              found: r.found,
              ms: Math.round(r.ms),
              sample: r.sample,
              ...(r.error ? { error: r.error } : {}),
            })
          : `${failed(r) ? 'FAIL' : 'ok  '} ${r.name.padEnd(40)} ${r.error ? `error: ${r.error}` : `${r.found} found`} (${Math.round(r.ms)} ms)`;
        process.stdout.write(`${line}\n`);
      },
    });
    if (values.pushgateway) await pushResults(values.pushgateway, results);
    const failures = results.filter(failed);
    process.stdout.write(
      failures.length === 0
        ? `integrity: ok (${results.length} checks)\n`
        : `integrity: ${failures.length} of ${results.length} checks failed: ${failures.map((f) => f.name).join(', ')}\n`,
    );
    const fatal = failures.filter((f) => failOn === 'warning' || f.severity === 'critical');
    return fatal.length === 0 ? 0 : 1;
  } finally {
    await client.end();
  }
}

process.exitCode = await main(process.argv.slice(2));
