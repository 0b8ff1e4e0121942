import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraEnv } from '@parley/testing';
import { renderRegion, type K8sObject } from './tools.js';

/**
 * The chart's backup and integrity-check CronJobs run their own scripts,
 * rendered here and run against the test Postgres (with Debian's client
 * tools, the ones the postgres image carries).
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

describe('the maintenance CronJobs, run against real Postgres', () => {
  it('backs the database up to a dump pg_restore can read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-backup-'));
    try {
      const { ok, output } = await runCronJob('parley-backup', { BACKUP_DIR: dir });
      expect(ok, output).toBe(true);
      const [dump] = await readdir(dir);
      expect(dump).toMatch(/^parley-\d{8}T\d{6}Z\.dump$/);
      const { stdout } = await run('pg_restore', ['--list', join(dir, dump!)]);
      expect(stdout).toMatch(/TABLE public messages/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

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
