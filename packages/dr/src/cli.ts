#!/usr/bin/env node
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CHECKS } from './checks.js';
import {
  createBackup,
  listBackups,
  pruneBackups,
  restoreBackup,
  startRestored,
  verifyBackup,
} from './backup.js';
import { exportTenant } from './export.js';
import { walFetch, walPush } from './wal.js';
import { backupRedis, restoreRedis } from './redis-snapshot.js';
import { importTenant } from './import.js';
import { nodeStatus, promote, redact, rejoin, setSynchronous, watch } from './failover.js';
import { failed, pushResults, runChecks } from './run.js';
import { regionFailback, regionFailover, type StepResult } from './region.js';
import { DirectoryStorage, storageFromEnv } from './storage.js';

const USAGE = `parley-dr backup create|list|verify|restore ... (parley-dr backup --help)
parley-dr failover status|promote|watch|rejoin|sync ... (parley-dr failover --help)
parley-dr region failover|failback ... (parley-dr region --help)
parley-dr export --tenant <id> --out <file.jsonl>
parley-dr wal-push <path> <name> | wal-fetch <name> <path>   (archive_command / restore_command)
parley-dr import --tenant <id> --file <file.jsonl>   (puts back what is missing; never overwrites)
parley-dr check [--only name,...] [--limit N] [--fail-on warning|critical] [--pushgateway URL] [--json]

Runs the integrity checks against PARLEY_PG_PRIMARY_URL (read-only) and prints
one line per check. Exits 1 when a check of the --fail-on severity or worse
(default: warning, so any) found rows or could not run, 2 on bad usage.
Checks: ${CHECKS.map((c) => c.name).join(', ')}.`;

const BACKUP_USAGE = `parley-dr backup create
parley-dr backup list [--json]
parley-dr backup prune
parley-dr backup verify [--backup-id <id|latest>] [--port P]
parley-dr backup restore --backup-id <id|latest> [--to-time <ISO timestamp>] --target <dir> [--port P] [--start]
parley-dr backup redis                                   (a Redis snapshot over the replication protocol; PARLEY_REDIS_URL)
parley-dr backup redis-restore [--backup-id <id|latest>] --target <dir>

Environment: PARLEY_BACKUP_DIR (the backup storage: base/ and the WAL archive wal/),
PARLEY_PG_REPLICATION_URL (create: a replication login), PARLEY_PG_BIN (the server's
programs), PARLEY_PG_PRIMARY_URL (verify: its user and password for the restored copy).`;

/** A tenant id as the services accept it. */
const TENANT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Runs `fn` with a connection to PARLEY_PG_PRIMARY_URL, closed afterwards. */
async function onPrimary<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: need('PARLEY_PG_PRIMARY_URL') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw Object.assign(new Error(`${name} is not set`), { code: 'DR_ERR_USAGE' });
  return value;
}

async function backup(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  const { values } = parseArgs({
    args,
    options: {
      'backup-id': { type: 'string', default: 'latest' },
      'to-time': { type: 'string' },
      target: { type: 'string' },
      port: { type: 'string', default: '55499' },
      start: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const storage = storageFromEnv();
  const tools = { bin: process.env.PARLEY_PG_BIN ?? '/usr/lib/postgresql/15/bin' };
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw usage('--port must be a TCP port');
  // Directory storage: the server copies WAL itself; object storage: through wal-fetch.
  const walArchive = storage instanceof DirectoryStorage ? join(storage.root, 'wal') : '';
  const restoreCommand =
    storage instanceof DirectoryStorage
      ? undefined
      : `"${process.execPath}" "${fileURLToPath(import.meta.url)}" wal-fetch %f %p`;
  switch (sub) {
    case 'create': {
      const m = await createBackup(storage, {
        replicationUrl: need('PARLEY_PG_REPLICATION_URL'),
        tools,
      });
      process.stdout.write(`${m.id} ${m.size} bytes, kept until ${m.keepUntil}\n`);
      return 0;
    }
    case 'redis': {
      const m = await backupRedis(storage, need('PARLEY_REDIS_URL'));
      process.stdout.write(`${m.id} ${m.size} bytes, ${m.keys} keys, kept until ${m.keepUntil}\n`);
      return 0;
    }
    case 'redis-restore': {
      if (!values.target) throw usage('redis-restore needs --target <dir> (where dump.rdb goes)');
      const m = await restoreRedis(storage, values['backup-id'], values.target);
      process.stdout.write(
        `restored ${m.id} (${m.keys} keys) into ${join(values.target, 'dump.rdb')}: start Redis with --dir ${values.target} --dbfilename dump.rdb\n`,
      );
      return 0;
    }
    case 'prune': {
      const pruned = await pruneBackups(storage);
      process.stdout.write(
        `pruned ${pruned.backups.length} backups (${pruned.backups.join(', ') || 'none'}) and ${pruned.walSegments} WAL segments\n`,
      );
      return 0;
    }
    case 'list': {
      const all = await listBackups(storage);
      if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else
        for (const m of all)
          process.stdout.write(`${m.id}  ${m.kind}  ${m.size} bytes  kept until ${m.keepUntil}\n`);
      return 0;
    }
    case 'restore': {
      if (!values.target) throw usage('restore needs --target <dir> (a new data directory)');
      const toTime = values['to-time'] ? new Date(values['to-time']) : undefined;
      if (toTime && Number.isNaN(toTime.getTime()))
        throw usage('--to-time must be an ISO timestamp');
      const m = await restoreBackup(storage, {
        backupId: values['backup-id'],
        target: values.target,
        walArchive,
        ...(restoreCommand ? { restoreCommand } : {}),
        ...(toTime ? { toTime } : {}),
        port,
        tools,
      });
      if (values.start) await startRestored(values.target, tools);
      process.stdout.write(
        `restored ${m.id} into ${values.target} (port ${port}${toTime ? `, up to ${toTime.toISOString()}` : ', up to the end of the archive'})${values.start ? ', started' : ''}\n`,
      );
      return 0;
    }
    case 'verify': {
      const primary = new URL(need('PARLEY_PG_PRIMARY_URL'));
      const { manifest, result } = await verifyBackup(storage, {
        backupId: values['backup-id'],
        walArchive,
        ...(restoreCommand ? { restoreCommand } : {}),
        port,
        tools,
        url: (p) =>
          Object.assign(new URL(primary.toString()), {
            hostname: '127.0.0.1',
            port: String(p),
          }).toString(),
        check: async (url) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            return await runChecks(client);
          } finally {
            await client.end();
          }
        },
      });
      const failures = result.filter((r) => failed(r) && r.severity === 'critical');
      for (const r of result)
        process.stdout.write(`${failed(r) ? 'FAIL' : 'ok  '} ${r.name} ${r.found} found\n`);
      process.stdout.write(
        failures.length === 0
          ? `verify: ${manifest.id} restores and passes the integrity checks\n`
          : `verify: ${manifest.id} restores but fails ${failures.map((f) => f.name).join(', ')}\n`,
      );
      return failures.length === 0 ? 0 : 1;
    }
    default:
      process.stderr.write(`${BACKUP_USAGE}\n`);
      return 2;
  }
}

const usage = (message: string) => Object.assign(new Error(message), { code: 'DR_ERR_USAGE' });

const FAILOVER_USAGE = `parley-dr failover status [--nodes URL,...] [--json]
parley-dr failover promote --target URL [--nodes URL,...] [--force]
parley-dr failover watch [--nodes URL,...] [--after-ms 30000] [--interval-ms 1000] [--max-lag-bytes N] [--approve]
parley-dr failover rejoin --data-dir DIR --source URL [--method auto|rewind|basebackup] [--start]
parley-dr failover sync on|off [--primary URL] [--standby NAME]

--nodes defaults to PARLEY_PG_PRIMARY_URL and PARLEY_PG_REPLICA_URLS. The URLs
need a role that may promote (superuser, or EXECUTE on pg_promote) and, for
rejoin, the grants pg_rewind needs on the new primary. watch promotes only
with --approve (the operator's approval of the automatic policy); without it,
it reports what it would do. Output is JSON lines.`;

function nodesFrom(flag: string | undefined): string[] {
  const list = (
    flag ??
    [process.env.PARLEY_PG_PRIMARY_URL, process.env.PARLEY_PG_REPLICA_URLS]
      .filter(Boolean)
      .join(',')
  )
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw usage('no nodes: pass --nodes or set PARLEY_PG_PRIMARY_URL and PARLEY_PG_REPLICA_URLS');
  for (const url of list)
    if (!/^postgres(ql)?:\/\//.test(url)) throw usage(`not a postgres:// URL: ${redact(url)}`);
  return list;
}

const positive = (value: string | undefined, name: string, fallback: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`${name} must be a positive integer`);
  return n;
};

async function failover(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  const { values, positionals } = parseArgs({
    args,
    options: {
      nodes: { type: 'string' },
      target: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'after-ms': { type: 'string' },
      'interval-ms': { type: 'string' },
      'max-lag-bytes': { type: 'string' },
      approve: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      source: { type: 'string' },
      method: { type: 'string', default: 'auto' },
      start: { type: 'boolean', default: false },
      primary: { type: 'string' },
      standby: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  switch (sub) {
    case 'status': {
      const statuses = await Promise.all(nodesFrom(values.nodes).map((u) => nodeStatus(u)));
      if (values.json) out(statuses);
      else
        for (const s of statuses)
          process.stdout.write(
            `${s.role.padEnd(8)} ${s.node}${s.timeline ? ` timeline ${s.timeline}` : ''}${s.lsn ? ` at ${s.lsn}` : ''}${s.replayed ? ` replayed ${s.replayed}` : ''}${s.error ? ` (${s.error})` : ''}\n`,
          );
      return statuses.filter((s) => s.role === 'primary').length === 1 ? 0 : 1;
    }
    case 'promote': {
      if (!values.target) throw usage('promote needs --target URL (the replica to promote)');
      // Without --nodes: every configured node but the target must not take writes.
      const others = nodesFrom(values.nodes).filter((u) => u !== values.target);
      out(await promote({ target: values.target, others, force: values.force }));
      return 0;
    }
    case 'watch': {
      const controller = new AbortController();
      for (const signal of ['SIGTERM', 'SIGINT'] as const)
        process.once(signal, () => controller.abort());
      await watch({
        nodes: nodesFrom(values.nodes),
        afterMs: positive(values['after-ms'], '--after-ms', 30_000),
        intervalMs: positive(values['interval-ms'], '--interval-ms', 1_000),
        ...(values['max-lag-bytes']
          ? { maxLagBytes: BigInt(positive(values['max-lag-bytes'], '--max-lag-bytes', 1)) }
          : {}),
        approve: values.approve,
        signal: controller.signal,
        onEvent: (e) => out({ at: new Date().toISOString(), ...e }),
      });
      return 0;
    }
    case 'rejoin': {
      if (!values['data-dir'] || !values.source)
        throw usage('rejoin needs --data-dir DIR (the old primary, stopped) and --source URL');
      const method = values.method;
      if (method !== 'auto' && method !== 'rewind' && method !== 'basebackup')
        throw usage('--method must be auto, rewind or basebackup');
      out(
        await rejoin({
          dataDir: values['data-dir'],
          source: values.source,
          tools: { bin: process.env.PARLEY_PG_BIN ?? '/usr/lib/postgresql/15/bin' },
          method,
          start: values.start,
        }),
      );
      return 0;
    }
    case 'sync': {
      const mode = positionals[0];
      if (mode !== 'on' && mode !== 'off') throw usage('sync needs on or off');
      const primary = values.primary ?? need('PARLEY_PG_PRIMARY_URL');
      out(
        await setSynchronous({
          primary,
          on: mode === 'on',
          ...(values.standby ? { standby: values.standby } : {}),
        }),
      );
      return 0;
    }
    default:
      process.stderr.write(`${FAILOVER_USAGE}\n`);
      return 2;
  }
}

const REGION_USAGE = `parley-dr region failover --from NAME --from-health URL --from-db URL[,URL] --to NAME --to-db URL
    [--to-health URL] [--probes 3] [--confirm-ms 30000] [--down-since ISO] [--max-lag-s 30]
    [--hook-fence CMD] [--hook-repoint CMD] [--hook-scale CMD] --hook-dns CMD [--hook-notify CMD]
parley-dr region failback --from NAME --from-db URL --to NAME --to-health URL --to-db URL
    [--traffic 10,50,100] [--soak-ms 300000] [--hook-resync CMD] --hook-dns CMD --hook-fence CMD
    [--hook-rejoin CMD] [--hook-notify CMD]

The design's regional runbook (docs/design/README.md): each step checks its outcome and the run stops at
the first that fails (exit 1). Hooks run with sh -c and get PARLEY_REGION_FROM,
PARLEY_REGION_TO and (dns) PARLEY_TRAFFIC_PERCENT; notify reads the status-page
text on stdin. One JSON line per step. docs/runbooks/regional-failover.md.`;

async function region(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args,
    options: {
      from: text,
      'from-health': text,
      'from-db': text,
      to: text,
      'to-health': text,
      'to-db': text,
      probes: text,
      'confirm-ms': text,
      'down-since': text,
      'max-lag-s': text,
      traffic: text,
      'soak-ms': text,
      'hook-repoint': text,
      'hook-scale': text,
      'hook-dns': text,
      'hook-notify': text,
      'hook-resync': text,
      'hook-fence': text,
      'hook-rejoin': text,
    },
    strict: true,
  });
  const required = (name: keyof typeof values): string => {
    const v = values[name];
    if (!v) throw usage(`${sub} needs --${name}`);
    return v;
  };
  const hooks = {
    ...(values['hook-repoint'] ? { repoint: values['hook-repoint'] } : {}),
    ...(values['hook-scale'] ? { scale: values['hook-scale'] } : {}),
    ...(values['hook-dns'] ? { dns: values['hook-dns'] } : {}),
    ...(values['hook-notify'] ? { notify: values['hook-notify'] } : {}),
    ...(values['hook-resync'] ? { resync: values['hook-resync'] } : {}),
    ...(values['hook-fence'] ? { fence: values['hook-fence'] } : {}),
    ...(values['hook-rejoin'] ? { rejoin: values['hook-rejoin'] } : {}),
  };
  const onStep = (step: StepResult) =>
    process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...step })}\n`);
  let steps: StepResult[];
  if (sub === 'failover') {
    const downSince = values['down-since'] ? new Date(values['down-since']) : undefined;
    if (downSince && Number.isNaN(downSince.getTime()))
      throw usage('--down-since must be an ISO timestamp');
    steps = await regionFailover({
      from: {
        name: required('from'),
        healthUrl: required('from-health'),
        dbUrls: nodesFrom(required('from-db')),
      },
      to: {
        name: required('to'),
        dbUrl: nodesFrom(required('to-db'))[0]!,
        ...(values['to-health'] ? { healthUrl: values['to-health'] } : {}),
      },
      hooks,
      probes: positive(values.probes, '--probes', 3),
      confirmMs: positive(values['confirm-ms'], '--confirm-ms', 30_000),
      maxLagSeconds: positive(values['max-lag-s'], '--max-lag-s', 30),
      ...(downSince ? { downSince } : {}),
      onStep,
    });
  } else if (sub === 'failback') {
    const traffic = (values.traffic ?? '10,50,100').split(',').map(Number);
    if (traffic.some((p) => !Number.isInteger(p) || p < 1 || p > 100) || traffic.at(-1) !== 100)
      throw usage('--traffic must be percentages ending with 100');
    steps = await regionFailback({
      from: { name: required('from'), dbUrl: nodesFrom(required('from-db'))[0]! },
      to: {
        name: required('to'),
        healthUrl: required('to-health'),
        dbUrl: nodesFrom(required('to-db'))[0]!,
      },
      hooks,
      steps: traffic,
      soakMs: positive(values['soak-ms'], '--soak-ms', 300_000),
      onStep,
    });
  } else {
    process.stderr.write(`${REGION_USAGE}\n`);
    return 2;
  }
  const failedStep = steps.find((s) => !s.ok);
  process.stderr.write(
    failedStep
      ? `region ${sub}: stopped at ${failedStep.step}: ${failedStep.detail}\n`
      : `region ${sub}: done in ${steps.reduce((n, s) => n + s.ms, 0)} ms\n`,
  );
  return failedStep ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'backup' || command === 'failover' || command === 'region') {
    const usages = { backup: BACKUP_USAGE, failover: FAILOVER_USAGE, region: REGION_USAGE };
    try {
      return await (command === 'backup'
        ? backup(rest)
        : command === 'failover'
          ? failover(rest)
          : region(rest));
    } catch (err) {
      const code = (err as { code?: string }).code;
      process.stderr.write(`parley-dr ${command}: ${(err as Error).message}\n`);
      if (code === 'DR_ERR_USAGE' || code?.startsWith('ERR_PARSE_ARGS')) {
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
