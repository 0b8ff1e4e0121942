import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually, infraEnv } from '@parley/testing';
import { renderRegion, type K8sObject } from './tools.js';

/**
 * The chart's backup and integrity-check workloads, rendered here and run as
 * their pods would (command, arguments, environment, with the Secret's values
 * filled in) against the test Postgres and Redis and moto's S3 server (all
 * started by scripts/infra). parley-dr's image runs /app/dist/cli.js: here
 * packages/dr/dist/cli.js, its pruned tree's source.
 */
const run = promisify(execFile);
let cronJobs: K8sObject[];
let client: pg.Client;
const url = () => infraEnv().pgPrimaryUrl;

beforeAll(async () => {
  cronJobs = (await renderRegion('us-east')).objects.filter((o) => o.kind === 'CronJob');
  client = new pg.Client({ connectionString: url() });
  await client.connect();
  // The tables the checks read (the services' migrations, as the setup hook applies them).
  await run('node', [join(import.meta.dirname, '../../services/chat/dist/migrate.js')], {
    env: { ...process.env, PARLEY_PG_PRIMARY_URL: url(), PARLEY_KAFKA_BROKERS: '' },
  });
});
afterAll(() => client?.end());

/** Runs a CronJob's container as the pod would (`command` + `args`), with `env`. */
async function runCronJob(name: string, env: Record<string, string>) {
  const job = cronJobs.find((c) => c.metadata.name === name)!;
  const [container] = job.spec.jobTemplate.spec.template.spec.containers;
  // A job without a command runs a Parley image's entrypoint, node, in /app: here the chat
  // service's folder, whose node_modules the image's pruned tree mirrors.
  const [program, ...args] = [
    ...(container.command ?? [process.execPath]),
    ...container.args,
  ] as string[];
  return run(program!, args, {
    env: { ...process.env, PARLEY_PG_PRIMARY_URL: url(), ...env },
    ...(container.command ? {} : { cwd: join(import.meta.dirname, '../../services/chat') }),
  }).then(
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (err: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${err.stdout}${err.stderr}`,
    }),
  );
}

const DR_CLI = join(import.meta.dirname, '../../packages/dr/dist/cli.js');

/** A parley-dr container's command line and environment, as its pod would have them. */
function drContainer(
  object: K8sObject,
  secrets: Record<string, string>,
  replace: Record<string, string> = {},
): { program: string; args: string[]; env: NodeJS.ProcessEnv } {
  const pod = object.spec.jobTemplate?.spec.template.spec ?? object.spec.template.spec;
  const [container] = pod.containers;
  const swap = (text: string) =>
    Object.entries({ '/app/dist/cli.js': DR_CLI, ...replace }).reduce(
      (t, [from, to]) => t.replaceAll(from, to),
      text.replaceAll('node /app', `${process.execPath} /app`),
    );
  // The image's ENTRYPOINT when the container has no command.
  const line = [
    ...(container.command ?? [process.execPath, '/app/dist/cli.js']),
    ...container.args,
  ].map((a: string) => swap(a));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PARLEY_PG_BIN: process.env.PARLEY_PG_BIN,
  };
  type Env = {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } };
  };
  for (const e of container.env as Env[]) {
    if (e.value !== undefined) env[e.name] = swap(e.value);
    const ref = e.valueFrom?.secretKeyRef;
    const key = ref?.key;
    if (key && secrets[key] !== undefined) env[e.name] = secrets[key];
    else if (key && !ref.optional) throw new Error(`${e.name}: the Secret needs ${key}`);
  }
  return { program: line[0]!, args: line.slice(1), env };
}

describe('the backup workloads, run as their pods would against real Postgres, Redis and object storage', () => {
  let backups: K8sObject[];
  let work = '';
  let secrets: Record<string, string>;
  const endpoint = () => process.env.PARLEY_S3_ENDPOINT!;
  beforeAll(async () => {
    backups = (await renderRegion('us-east')).objects.filter((o) =>
      o.metadata.name.startsWith('parley-backup'),
    );
    work = await mkdtemp(join(tmpdir(), 'parley-backup-'));
    // The bucket us-east's values name (moto takes any name and any credentials).
    const s3 = new S3Client({
      endpoint: endpoint(),
      forcePathStyle: true,
      region: 'us-west-2',
      credentials: { accessKeyId: 'parley-test', secretAccessKey: 'parley-test-secret' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'parley-backups-us-west-2' })).catch((err) => {
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String(err.name))) throw err;
    });
    s3.destroy();
    secrets = {
      PARLEY_PG_REPLICATION_URL: process.env.PARLEY_PG_REPLICATION_URL!,
      PARLEY_REDIS_URL: infraEnv().redisUrl,
      PARLEY_BACKUP_ACCESS_KEY_ID: 'parley-test',
      PARLEY_BACKUP_SECRET_ACCESS_KEY: 'parley-test-secret',
    };
  });
  afterAll(async () => {
    // The stream's slot would keep the test server's WAL for ever.
    await client
      ?.query(
        "select pg_drop_replication_slot('parley_wal') from pg_replication_slots where slot_name = 'parley_wal'",
      )
      .catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });
  /** The chart's object storage, pointed at moto (an endpoint the operator would set for MinIO). */
  const withMoto = (env: NodeJS.ProcessEnv) => ({ ...env, PARLEY_S3_ENDPOINT: endpoint() });
  const find = (kind: string, name: string) =>
    backups.find((o) => o.kind === kind && o.metadata.name === name)!;
  const list = async () => {
    const { env } = drContainer(find('CronJob', 'parley-backup-full'), secrets);
    const { stdout } = await run(process.execPath, [DR_CLI, 'backup', 'list', '--json'], {
      env: withMoto(env),
    });
    return JSON.parse(stdout) as Array<{ id: string; kind: string }>;
  };

  it('takes the daily full backup into the bucket, then applies the retention', async () => {
    const { program, args, env } = drContainer(find('CronJob', 'parley-backup-full'), secrets, {
      '/scratch': work,
    });
    expect(env.TMPDIR).toBe(work);
    const { stdout } = await run(program, args, { env: withMoto(env), timeout: 300_000 });
    expect(stdout).toMatch(/^full-\d{8}T\d{6}Z \d+ bytes, kept until /m);
    expect(stdout).toMatch(
      /^pruned 0 backups \(none\), \d+ WAL segments and \d+ Redis snapshots$/m,
    );
    expect((await list()).map((b) => b.kind)).toContain('full');
  }, 300_000);

  it('takes the hourly Redis snapshot into the bucket', async () => {
    const { program, args, env } = drContainer(find('CronJob', 'parley-backup-redis'), secrets);
    const { stdout } = await run(program, args, { env: withMoto(env), timeout: 120_000 });
    expect(stdout).toMatch(/^redis-\d{8}T\d{6}Z \d+ bytes, \d+ keys, kept until /);
  });

  it('streams WAL into the bucket until told to stop, then stores the segment being written', async () => {
    const spool = join(work, 'spool');
    const { program, args, env } = drContainer(
      find('StatefulSet', 'parley-backup-wal-stream'),
      secrets,
      {
        '/spool': spool,
      },
    );
    const stream = spawn(program, args, { env: withMoto(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    stream.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    stream.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    try {
      // Streaming, not only started: the new slot holds a position once pg_receivewal is connected.
      await expectEventually(
        async () => {
          const { rows } = await client.query<{ streaming: boolean }>(
            `select active and restart_lsn is not null as streaming
               from pg_replication_slots where slot_name = 'parley_wal'`,
          );
          expect(rows[0]?.streaming, output).toBe(true);
        },
        { timeoutMs: 30_000 },
      );
      // A write first: right after another test's switch the position sits on a segment
      // boundary, where pg_walfile_name names the segment before and pg_switch_wal does nothing.
      await client.query('create table if not exists wal_stream_probe (at timestamptz)');
      await client.query('insert into wal_stream_probe values (now())');
      const { rows } = await client.query<{ file: string }>(
        'select pg_walfile_name(pg_current_wal_lsn()) as file',
      );
      await client.query('select pg_switch_wal()');
      await expectEventually(
        () =>
          expect(output).toMatch(
            new RegExp(`"event":"wal_stored","stored":\\[[^\\]]*"${rows[0]!.file}"`),
          ),
        { timeoutMs: 30_000 },
      );
    } finally {
      stream.kill('SIGTERM');
      await new Promise((resolve) => stream.once('exit', resolve));
      await client.query('drop table if exists wal_stream_probe');
    }
    expect(stream.exitCode, output).toBe(0);
    expect(output).toContain('"event":"stopped"');
  }, 120_000);
});

describe('the maintenance CronJobs, run against real Postgres', () => {
  it('passes a consistent database and fails on a conversation whose messages skip a number', async () => {
    expect((await runCronJob('parley-integrity-check', {})).ok).toBe(true);
    const tenant = `integrity-${randomUUID().slice(0, 8)}`;
    const conversation = randomUUID();
    await client.query(
      `insert into tenants (id, name, widget_key, allowed_origins) values ($1, $1, $1, '{}')`,
      [tenant],
    );
    await client.query(
      `insert into conversations (tenant_id, id, visitor_id, channel, last_seq) values ($1, $2, 'v', 'web', 2)`,
      [tenant, conversation],
    );
    try {
      // Sequence 2 without 1: a gap.
      await client.query(
        `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at)
         values ($1, $2, 2, $3, 'user', 'c', 'hello', $3, now())`,
        [tenant, conversation, randomUUID()],
      );
      const found = await runCronJob('parley-integrity-check', {});
      expect(found.ok).toBe(false);
      expect(found.output).toMatch(/^FAIL message_sequence_gaps +\d+ found/m);
      expect(found.output).toMatch(/integrity: \d+ of 8 checks failed: message_sequence_gaps/);
    } finally {
      await client.query('delete from messages where tenant_id = $1', [tenant]);
      await client.query('delete from conversations where tenant_id = $1', [tenant]);
      await client.query('delete from tenants where id = $1', [tenant]);
    }
    expect((await runCronJob('parley-integrity-check', {})).ok).toBe(true);
  });
});
