import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestCa } from './test-ca.js';

const run = promisify(execFile);

/** One server of a {@link PgCluster}. */
export interface PgNode {
  name: string;
  port: number;
  dataDir: string;
  /** Superuser URL on loopback (the scratch cluster trusts 127.0.0.1 only). */
  url: string;
}

/** A primary and a streaming replica of its own, for tests that kill servers. */
export interface PgCluster {
  primary: PgNode;
  replica: PgNode;
  /** Further replicas streaming asynchronously from the primary (`asyncReplicas`). */
  others: PgNode[];
  /** The programs' directory (`PARLEY_PG_BIN`). */
  bin: string;
  /** Crashes a server: `pg_ctl stop -m immediate` (no checkpoint, clients cut off mid-flight). */
  crash(node: PgNode): Promise<void>;
  start(node: PgNode): Promise<void>;
  /** Stops every server and removes the directories. */
  destroy(): Promise<void>;
}

/** The name the replica streams under; `synchronous_standby_names` names it. */
export const STANDBY_NAME = 'parley_standby';

/** A TCP port free on loopback right now (for a server a test starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs one statement with a connection of its own and returns the rows: for
 * tests on servers they crash and restart, which a pool would outlive.
 */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Starts a scratch primary and a streaming replica (`pg_basebackup -R`) in a
 * temporary directory, with the settings failover needs (`wal_log_hints` for
 * `pg_rewind`). With `synchronous`, commits wait for the replica.
 * Postgres refuses to run as root, so as root the servers run as `postgres`.
 */
export async function startPgCluster({
  synchronous = false,
  bin = process.env.PARLEY_PG_BIN,
  primarySettings = [],
  asyncReplicas = 0,
  tls,
}: {
  /** Serve TLS too, with this CA's server certificate (made with `owner: 'postgres'` when root). */
  tls?: TestCa;
  synchronous?: boolean;
  /** More replicas, always asynchronous (a cold DR site's). @default 0 */
  asyncReplicas?: number;
  bin?: string;
  /** More postgresql.conf lines for the primary (e.g. an archive_command). */
  primarySettings?: string[];
} = {}): Promise<PgCluster> {
  if (!bin)
    throw new Error('PARLEY_PG_BIN is not set: run through scripts/test (scripts/infra up)');
  const root = await mkdtemp(join(tmpdir(), 'parley-pgc-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await run('chown', ['postgres:postgres', root]);
  const pgRun = (program: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { cwd: '/' })
      : run(join(bin, program), args, { cwd: '/' });
  const node = async (name: string): Promise<PgNode> => {
    const port = await freePort();
    return {
      name,
      port,
      dataDir: join(root, name),
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    };
  };
  const own = (n: PgNode) => [
    `port = ${n.port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${root}'`,
  ];
  // Appending keeps the file's owner (postgres, when we are root).
  const configure = (n: PgNode, lines: string[]) =>
    appendFile(join(n.dataDir, 'postgresql.auto.conf'), `\n${lines.join('\n')}\n`);
  const start = async (n: PgNode) => {
    await pgRun('pg_ctl', [
      '-D',
      n.dataDir,
      '-l',
      join(root, `${n.name}.log`),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  };
  const stop = (n: PgNode, mode: 'fast' | 'immediate') =>
    pgRun('pg_ctl', ['-D', n.dataDir, '-m', mode, '-w', 'stop']).then(
      () => undefined,
      () => undefined,
    );

  const primary = await node('a');
  const replica = await node('b');
  const others: PgNode[] = [];
  for (let i = 0; i < asyncReplicas; i++) others.push(await node(String.fromCharCode(99 + i)));
  await pgRun('initdb', [
    '-D',
    primary.dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
  ]);
  await configure(primary, [
    ...own(primary),
    'wal_level = replica',
    'max_wal_senders = 5',
    'wal_log_hints = on',
    'hot_standby = on',
    'wal_keep_size = 256MB',
    ...(tls
      ? ['ssl = on', `ssl_cert_file = '${tls.certFile}'`, `ssl_key_file = '${tls.keyFile}'`]
      : []),
    ...primarySettings,
  ]);
  await start(primary);
  const follow = async (n: PgNode, applicationName: string) => {
    await pgRun('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      n.dataDir,
      '-X',
      'stream',
      '-R',
    ]);
    await configure(n, [
      ...own(n),
      `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres application_name=${applicationName}'`,
    ]);
    await start(n);
  };
  await follow(replica, STANDBY_NAME);
  for (const [i, n] of others.entries()) await follow(n, `parley_async_${i + 1}`);
  const admin = new pg.Client({ connectionString: primary.url });
  await admin.connect();
  try {
    if (synchronous) {
      await admin.query(`alter system set synchronous_standby_names = 'FIRST 1 (${STANDBY_NAME})'`);
      await admin.query('select pg_reload_conf()');
    }
    // Streaming (and, when synchronous, counted as the synchronous standby) before tests begin.
    const want = synchronous ? 'sync' : 'async';
    for (let i = 0; ; i++) {
      const { rows } = await admin.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_replication
          where application_name = $1 and state = 'streaming' and sync_state = $2`,
        [STANDBY_NAME, want],
      );
      const { rows: async } = await admin.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_replication
          where application_name like 'parley_async_%' and state = 'streaming'`,
      );
      if (rows[0]!.n === 1 && async[0]!.n === others.length) break;
      if (i > 300) throw new Error(`the replica did not start streaming (${want}) in 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.end();
  }
  return {
    primary,
    replica,
    others,
    bin,
    crash: (n) => stop(n, 'immediate'),
    start,
    destroy: async () => {
      await Promise.all([primary, replica, ...others].map((n) => stop(n, 'fast')));
      await rm(root, { recursive: true, force: true });
    },
  };
}
