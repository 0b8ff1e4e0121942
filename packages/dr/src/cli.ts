#!/usr/bin/env node
/**
 * `parley-dr`: one command per file in `commands/`; this file only
 * dispatches and prints usage.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CHECKS } from './checks.js';
import { exportTenant } from './export.js';
import { importTenant } from './import.js';
import { failed, pushResults, runChecks } from './run.js';
import { storageFromEnv } from './storage.js';
import { walFetch, walPush } from './wal.js';
import { BACKUP_USAGE, backup } from './commands/backup.js';
import { FAILOVER_USAGE, failover } from './commands/failover.js';
import { REGION_USAGE, region } from './commands/region.js';
import { WAL_STREAM_USAGE, walStream } from './commands/wal-stream.js';
import { TENANT_ID, onPrimary } from './commands/shared.js';

const USAGE = `parley-dr backup create|list|verify|restore ... (parley-dr backup --help)
parley-dr failover status|promote|watch|rejoin|sync ... (parley-dr failover --help)
parley-dr region failover|failback ... (parley-dr region --help)
parley-dr export --tenant <id> --out <file.jsonl>
parley-dr wal-push <path> <name> | wal-fetch <name> <path>   (archive_command / restore_command)
parley-dr wal-stream --spool <dir> ...   (WAL archiving over a replication connection; parley-dr wal-stream --help)
parley-dr import --tenant <id> --file <file.jsonl>   (puts back what is missing; never overwrites)
parley-dr check [--only name,...] [--limit N] [--fail-on warning|critical] [--pushgateway URL [--release NAME]] [--json]

Runs the integrity checks against PARLEY_PG_PRIMARY_URL (read-only) and prints
one line per check. Exits 1 when a check of the --fail-on severity or worse
(default: warning, so any) found rows or could not run, 2 on bad usage.
Checks: ${CHECKS.map((c) => c.name).join(', ')}.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (
    command === 'backup' ||
    command === 'failover' ||
    command === 'region' ||
    command === 'wal-stream'
  ) {
    const usages = {
      backup: BACKUP_USAGE,
      failover: FAILOVER_USAGE,
      region: REGION_USAGE,
      'wal-stream': WAL_STREAM_USAGE,
    };
    const commands = { backup, failover, region, 'wal-stream': walStream };
    try {
      return await commands[command](rest);
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      process.stderr.write(`parley-dr ${command}: ${(err as Error).message}\n`);
      if (code === 'DR_ERR_USAGE' || code.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`${usages[command]}\n`);
        return 2;
      }
      return 1;
    }
  }
  if (command === 'wal-push' || command === 'wal-fetch') {
    // Postgres's archive_command / restore_command for object storage:
    //   archive_command = 'parley-dr wal-push %p %f'   restore_command = 'parley-dr wal-fetch %f %p'
    const [a, b] = rest;
    if (!a || !b || rest.length !== 2) {
      process.stderr.write(
        `usage: parley-dr ${command} ${command === 'wal-push' ? '<path> <name>' : '<name> <path>'}\n`,
      );
      return 2;
    }
    try {
      const storage = storageFromEnv();
      if (command === 'wal-push') await walPush(storage, a, b);
      else await walFetch(storage, a, b);
      return 0;
    } catch (err) {
      process.stderr.write(`parley-dr ${command}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  if (command === 'import') {
    const { values } = parseArgs({
      args: rest,
      options: { tenant: { type: 'string' }, file: { type: 'string' } },
      strict: true,
    });
    if (!values.tenant || !values.file || !TENANT_ID.test(values.tenant)) {
      process.stderr.write('usage: parley-dr import --tenant <id> --file <export.jsonl>\n');
      return 2;
    }
    const { tenant, file } = values;
    return onPrimary(async (client) => {
      try {
        process.stdout.write(`${JSON.stringify(await importTenant(client, tenant, file))}\n`);
        return 0;
      } catch (err) {
        process.stderr.write(`parley-dr import: ${(err as Error).message}\n`);
        return 1;
      }
    });
  }
  if (command === 'export') {
    const { values } = parseArgs({
      args: rest,
      options: { tenant: { type: 'string' }, out: { type: 'string' } },
      strict: true,
    });
    if (!values.tenant || !values.out || !TENANT_ID.test(values.tenant)) {
      process.stderr.write('usage: parley-dr export --tenant <id> --out <file.jsonl>\n');
      return 2;
    }
    const { tenant, out } = values;
    return onPrimary(async (client) => {
      const counts = await exportTenant(client, tenant, out);
      process.stdout.write(`${JSON.stringify({ tenant, file: out, rows: counts })}\n`);
      return counts.tenants ? 0 : 1;
    });
  }
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
        release: { type: 'string' },
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
  if (values.release !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(values.release)) {
    process.stderr.write(
      `--release must be a release name (lower-case letters, digits, -)\n${USAGE}\n`,
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
    if (values.pushgateway)
      await pushResults(
        values.pushgateway,
        results,
        values.release ? { release: values.release } : {},
      );
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
