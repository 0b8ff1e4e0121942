import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import { infraEnv } from '@parley/testing';

/**
 * `parley-dr check` against real Postgres: a scratch database of this run
 * (the shared test database holds every other test's data), migrated, filled
 * with a consistent conversation, then broken in the ways the checks look for.
 */
const run = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const database = `parley_integrity_${randomUUID().slice(0, 8)}`;
let admin: pg.Client;
let db: pg.Client;
let url = '';

beforeAll(async () => {
  const base = infraEnv().pgPrimaryUrl;
  admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${database}`);
  url = Object.assign(new URL(base), { pathname: `/${database}` }).toString();
  const pgdb = new PgDatabase({ primaryUrl: url });
  await migrate(pgdb);
  await pgdb.close();
  db = new pg.Client({ connectionString: url });
  await db.connect();
  await db.query(
    `insert into tenants (id, name, widget_key, allowed_origins) values ('t1', 'T1', 'pk_t1', '{}')`,
  );
  await db.query(
    `insert into conversations (tenant_id, id, visitor_id, channel, last_seq) values ('t1', 'c1', 'v1', 'web', 2)`,
  );
  for (const [seq, role, cid] of [
    [1, 'user', 'm1'],
    [2, 'assistant', 'reply:1'],
  ] as const)
    await db.query(
      `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at)
       values ('t1', 'c1', $1, $2, $3, $4, 'hello', $2, now())`,
      [seq, randomUUID(), role, cid],
    );
});
afterAll(async () => {
  await db?.end();
  await admin?.query(`drop database if exists ${database} with (force)`);
  await admin?.end();
});

async function check(...args: string[]) {
  return run(process.execPath, [cli, 'check', ...args], {
    env: { ...process.env, PARLEY_PG_PRIMARY_URL: url },
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
}

describe('parley-dr export', () => {
  it("writes one tenant's rows and nothing of another tenant's, without secrets", async () => {
    await db.query(
      `insert into tenants (id, name, widget_key, allowed_origins, identity_secret) values ('t2', 'T2', 'pk_t2', '{}', 'identity-secret-of-t2')`,
    );
    await db.query(
      `insert into conversations (tenant_id, id, visitor_id, channel, last_seq) values ('t2', 'c9', 'v9', 'voice', 1)`,
    );
    await db.query(
      `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at)
       values ('t2', 'c9', 1, 'm9', 'user', 'x9', 'only t2 says this', 'e9', now())`,
    );
    for (const tenant of ['t1', 't2'])
      await db.query(
        `insert into agents (tenant_id, id, email, name, password_hash) values ($1, 'a1', 'a@x.test', 'A', 'scrypt$hash-of-' || $1)`,
        [tenant],
      );
    const out = join(tmpdir(), `export-${randomUUID()}.jsonl`);
    try {
      const { stdout } = await run(
        process.execPath,
        [cli, 'export', '--tenant', 't2', '--out', out],
        {
          env: { ...process.env, PARLEY_PG_PRIMARY_URL: url },
        },
      );
      expect(JSON.parse(stdout)).toMatchObject({
        tenant: 't2',
        rows: { tenants: 1, conversations: 1, messages: 1, agents: 1 },
      });
      const text = await readFile(out, 'utf8');
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { table: string; row: Record<string, unknown> });
      expect(
        lines.every((l) => (l.table === 'tenants' ? l.row.id : l.row.tenant_id) === 't2'),
      ).toBe(true);
      expect(lines.find((l) => l.table === 'messages')!.row.text).toBe('only t2 says this');
      expect(text).not.toContain('scrypt$');
      expect(text).not.toContain('identity-secret-of-t2');
      expect(text).not.toContain('"t1"');
      expect((await stat(out)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(out, { force: true });
    }
    const unknown = await run(
      process.execPath,
      [cli, 'export', '--tenant', 'nobody', '--out', out],
      {
        env: { ...process.env, PARLEY_PG_PRIMARY_URL: url },
      },
    ).then(
      () => 0,
      (err: { code: number }) => err.code,
    );
    expect(unknown).toBe(1);
    await rm(out, { force: true });
  });
});

describe('parley-dr import', () => {
  const env = () => ({ ...process.env, PARLEY_PG_PRIMARY_URL: url });
  const importFile = (file: string, tenant = 't3') =>
    run(process.execPath, [cli, 'import', '--tenant', tenant, '--file', file], { env: env() }).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it("puts back one tenant's lost rows from its export, never overwriting what is there, and refuses another tenant's rows", async () => {
    await db.query(
      `insert into tenants (id, name, widget_key, allowed_origins) values ('t3', 'T3', 'pk_t3', '{https://t3.test}')`,
    );
    await db.query(
      `insert into conversations (tenant_id, id, visitor_id, channel, last_seq) values ('t3', 'c1', 'v1', 'web', 2)`,
    );
    await db.query(
      `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at) values
         ('t3', 'c1', 1, 'm31', 'user', 'x1', 'hello', 'e31', now()),
         ('t3', 'c1', 2, 'm32', 'assistant', 'reply:1', 'hi, how can I help?', 'e32', now())`,
    );
    await db.query(
      `insert into agents (tenant_id, id, email, name, password_hash) values ('t3', 'a1', 'a@t3.test', 'A', 'scrypt$real')`,
    );
    await db.query(
      `insert into knowledge_documents (tenant_id, id, title, format, content_hash, content, status, chunk_count)
       values ('t3', 'd1', 'Hours', 'text', 'h1', 'Open 9 to 5.', 'ready', 1)`,
    );
    await db.query(
      `insert into knowledge_chunks (tenant_id, document_id, ord, heading, text, content_hash, model, embedding)
       values ('t3', 'd1', 0, 'Hours', 'Open 9 to 5.', 'h1', 'test', '{0.1,0.2}')`,
    );
    const file = join(tmpdir(), `t3-${randomUUID()}.jsonl`);
    const foreign = join(tmpdir(), `t3-foreign-${randomUUID()}.jsonl`);
    try {
      await run(process.execPath, [cli, 'export', '--tenant', 't3', '--out', file], { env: env() });
      // The loss: a reply, an agent, a document; and a message edited since the export.
      await db.query(`delete from messages where tenant_id = 't3' and seq = 2`);
      await db.query(`delete from agents where tenant_id = 't3'`);
      await db.query(`delete from knowledge_documents where tenant_id = 't3'`);
      await db.query(
        `update messages set text = 'hello (kept)' where tenant_id = 't3' and seq = 1`,
      );

      await writeFile(
        foreign,
        `${await readFile(file, 'utf8')}${JSON.stringify({ table: 'messages', row: { tenant_id: 't2', conversation_id: 'c9', seq: 2 } })}\n`,
      );
      const refused = await importFile(foreign);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('a row of another tenant (messages); nothing imported');
      expect((await db.query(`select 1 from agents where tenant_id = 't3'`)).rowCount).toBe(0);

      const done = await importFile(file);
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({
        tenant: 't3',
        added: { tenants: 0, conversations: 0, messages: 1, agents: 1, knowledge_documents: 1 },
        reindex: ['d1'],
        agentsWithoutPassword: 1,
      });
      const { rows } = await db.query<{ text: string }>(
        `select text from messages where tenant_id = 't3' order by seq`,
      );
      expect(rows.map((r) => r.text)).toEqual(['hello (kept)', 'hi, how can I help?']);
      const agent = await db.query<{ password_hash: string }>(
        `select password_hash from agents where tenant_id = 't3'`,
      );
      expect(agent.rows[0]!.password_hash).toBe('!restored: set a new password');
      const doc = await db.query<{ status: string }>(
        `select status from knowledge_documents where tenant_id = 't3'`,
      );
      expect(doc.rows[0]!.status).toBe('pending');
    } finally {
      await rm(file, { force: true });
      await rm(foreign, { force: true });
    }
  });
});

describe('parley-dr check', () => {
  it('passes a consistent database, reporting every check', async () => {
    const { code, stdout } = await check();
    expect(stdout).toContain('integrity: ok (8 checks)');
    expect(stdout.match(/^ok {3}\S+/gm)).toHaveLength(8);
    expect(code).toBe(0);
  });

  it('fails loudly on a sequence gap, a wrong last sequence number, an orphan and an unanswered message', async () => {
    await db.query(
      `delete from messages where tenant_id = 't1' and conversation_id = 'c1' and seq = 1`,
    );
    // An orphan can only exist without the foreign key (a bad restore, a manual fix): drop it here.
    await db.query('alter table messages drop constraint messages_tenant_id_conversation_id_fkey');
    await db.query(
      `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at, created_at)
       values ('t1', 'gone', 1, 'o1', 'user', 'x', 'hi', 'o1', now(), now())`,
    );
    await db.query(
      // Its last sequence number says 3, but its newest message is 1. Created with its first
      // message, 20 minutes ago (the same day as it, even just after midnight: each day's
      // conversations and first messages still match).
      `insert into conversations (tenant_id, id, visitor_id, channel, last_seq, created_at)
       values ('t1', 'c2', 'v2', 'web', 3, now() - interval '20 minutes')`,
    );
    await db.query(
      `insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text, event_id, received_at, created_at)
       values ('t1', 'c2', 1, 'u1', 'user', 'q', 'anyone?', 'u1', now(), now() - interval '20 minutes')`,
    );
    const { code, stdout } = await check('--json');
    expect(code).toBe(1);
    const lines = stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as { check: string; found: number; sample: Array<Record<string, unknown>> },
      );
    const found = Object.fromEntries(lines.map((l) => [l.check, l.found]));
    expect(found).toMatchObject({
      message_sequence_gaps: 1, // c1 now starts at 2
      orphaned_messages: 1,
      conversation_last_seq: 1,
      unanswered_messages: 1,
    });
    expect(lines.find((l) => l.check === 'orphaned_messages')!.sample).toEqual([
      { tenant_id: 't1', conversation_id: 'gone', seq: '1' },
    ]);
    expect(stdout).toMatch(
      /integrity: 4 of 8 checks failed: message_sequence_gaps, orphaned_messages, conversation_last_seq, unanswered_messages/,
    );
    // Nothing in the output carries message text.
    expect(stdout).not.toContain('anyone?');
  });

  it('pushes its findings as metrics, and refuses bad usage', async () => {
    const pushed: string[] = [];
    const gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        pushed.push(`${req.method} ${req.url}\n${body}`);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const port = (gateway.address() as AddressInfo).port;
      const { code } = await check(
        '--only',
        'orphaned_messages',
        '--pushgateway',
        `http://127.0.0.1:${port}`,
      );
      expect(code).toBe(1);
      expect(pushed[0]).toMatch(/^POST \/metrics\/job\/parley_integrity/);
      expect(pushed[0]).toContain(
        'parley_integrity_findings{check="orphaned_messages",severity="critical"} 1',
      );
      // A release's results apart from another's on a shared Pushgateway.
      await check(
        ...['--only', 'orphaned_messages', '--pushgateway', `http://127.0.0.1:${port}`],
        ...['--release', 'parley-b'],
      );
      expect(pushed[1]).toMatch(/^POST \/metrics\/job\/parley_integrity\/release\/parley-b\n/);
    } finally {
      gateway.close();
    }
    // Warnings alert through the metrics; with --fail-on critical they do not fail the run.
    expect((await check('--only', 'unanswered_messages', '--fail-on', 'critical')).code).toBe(0);
    expect((await check('--only', 'unanswered_messages')).code).toBe(1);
    expect((await check('--fail-on', 'sometimes')).code).toBe(2);
    expect((await check('--only', 'no_such_check')).code).toBe(2);
    expect((await check('--limit', '0')).code).toBe(2);
    expect((await check('--release', 'Not A Release')).code).toBe(2);
  });
});
