import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  createBackup,
  listBackups,
  pruneBackups,
  restoreBackup,
  startRestored,
  verifyBackup,
} from '../backup.js';
import { backupRedis, pruneRedisSnapshots, restoreRedis } from '../redis-snapshot.js';
import { failed, runChecks } from '../run.js';
import { DirectoryStorage, storageFromEnv } from '../storage.js';
import { need, usage } from './shared.js';

export const BACKUP_USAGE = `parley-dr backup create
parley-dr backup list [--json]
parley-dr backup prune                                   (the retention: full 30 days, WAL 7, Redis 3)
parley-dr backup verify [--backup-id <id|latest>] [--port P]
parley-dr backup restore --backup-id <id|latest> [--to-time <ISO timestamp>] --target <dir> [--port P] [--start]
parley-dr backup redis                                   (a Redis snapshot over the replication protocol; PARLEY_REDIS_URL, PARLEY_REDIS_CA_FILE for rediss://)
parley-dr backup redis-restore [--backup-id <id|latest>] --target <dir>

Environment: PARLEY_BACKUP_DIR (the backup storage: base/ and the WAL archive wal/),
PARLEY_PG_REPLICATION_URL (create: a replication login), PARLEY_PG_BIN (the server's
programs), PARLEY_PG_PRIMARY_URL (verify: its user and password for the restored copy).`;

/** `parley-dr backup ...`: base backups, the WAL archive's restores, Redis snapshots. */
export async function backup(rest: string[]): Promise<number> {
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
      : `"${process.execPath}" "${fileURLToPath(new URL('../cli.js', import.meta.url))}" wal-fetch %f %p`;
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
      const caFile = process.env.PARLEY_REDIS_CA_FILE;
      const m = await backupRedis(storage, need('PARLEY_REDIS_URL'), new Date(), {
        ...(caFile ? { caFile } : {}),
      });
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
      const redis = await pruneRedisSnapshots(storage);
      process.stdout.write(
        `pruned ${pruned.backups.length} backups (${pruned.backups.join(', ') || 'none'}), ${pruned.walSegments} WAL segments and ${redis.length} Redis snapshots\n`,
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
