import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@parley/conversations';
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
       values ('t1', 'gone', 1, 'o1', 'user', 'x', 'hi', 'o1', now(), now() - interval '1 hour')`,
    );
    await db.query(
      // Its last sequence number says 3, but its newest message is 1.
      `insert into conversations (tenant_id, id, visitor_id, channel, last_seq) values ('t1', 'c2', 'v2', 'web', 3)`,
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
    } finally {
      gateway.close();
    }
    // Warnings alert through the metrics; with --fail-on critical they do not fail the run.
    expect((await check('--only', 'unanswered_messages', '--fail-on', 'critical')).code).toBe(0);
    expect((await check('--only', 'unanswered_messages')).code).toBe(1);
    expect((await check('--fail-on', 'sometimes')).code).toBe(2);
    expect((await check('--only', 'no_such_check')).code).toBe(2);
    expect((await check('--limit', '0')).code).toBe(2);
  });
});
