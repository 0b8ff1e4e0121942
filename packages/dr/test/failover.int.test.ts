import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, pgQuery, startPgCluster, type PgCluster } from '@parley/testing';

/**
 * `parley-dr failover` as an operator runs it, on a scratch primary and
 * replica: promotion refused while the primary lives, the automatic policy
 * (reporting only until approved), rejoin by pg_rewind taking back what the
 * old primary wrote after the split, and synchronous replication on and off.
 */
const exec = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
let cluster: PgCluster;

beforeAll(async () => {
  cluster = await startPgCluster();
  await pgQuery(cluster.primary.url, 'create table notes (id int primary key, body text not null)');
  await pgQuery(cluster.primary.url, `insert into notes values (1, 'before')`);
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
});

function dr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(process.execPath, [cli, 'failover', ...args], {
    env: { ...process.env, PARLEY_PG_BIN: cluster.bin },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

/** A running `failover watch`: its events as they come, and a way to wait for one. */
function startWatch(args: string[]) {
  const child = spawn(process.execPath, [cli, 'failover', 'watch', ...args], {
    env: { ...process.env, PARLEY_PG_BIN: cluster.bin },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  return {
    events,
    until: (kind: string) =>
      eventually(() => events.find((e) => e.kind === kind), {
        timeoutMs: 30_000,
        what: `the watch event ${kind}`,
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('parley-dr failover', () => {
  it('reports each node and refuses to promote while the primary still takes writes', async () => {
    const nodes = `${cluster.primary.url},${cluster.replica.url}`;
    const status = await dr('status', '--nodes', nodes, '--json');
    expect(status.code).toBe(0);
    const [primary, replica] = JSON.parse(status.stdout) as Array<Record<string, unknown>>;
    expect(primary).toMatchObject({ role: 'primary', timeline: 1 });
    expect(replica).toMatchObject({ role: 'replica' });

    const refused = await dr(
      'promote',
      '--target',
      cluster.replica.url,
      '--nodes',
      cluster.primary.url,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('still takes writes');
    const notReplica = await dr('promote', '--target', cluster.primary.url);
    expect(notReplica.code).toBe(1);
    expect(notReplica.stderr).toContain('only a replica can be promoted');
    const bad = await dr('promote');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('promote needs --target');
  });

  it('only reports when automatic promotion is not approved, refuses without a primary position seen, and promotes once approved', async () => {
    const nodes = `${cluster.primary.url},${cluster.replica.url}`;
    const policy = (afterMs: number) => [
      '--nodes',
      nodes,
      '--after-ms',
      String(afterMs),
      '--interval-ms',
      '200',
    ];
    // Both watch the primary before it fails: they know its last position.
    const reporting = startWatch(policy(1000));
    const approved = startWatch([...policy(6000), '--approve']);
    try {
      await Promise.all([reporting.until('primary_seen'), approved.until('primary_seen')]);
      await cluster.crash(cluster.primary);

      await reporting.until('would_promote');
      expect(reporting.events.map((e) => e.kind)).toEqual([
        'primary_seen',
        'primary_down',
        'would_promote',
      ]);
      expect((await pgQuery(cluster.replica.url, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(
        true,
      );

      // Started during the outage, it cannot know how far behind the replica is.
      const late = startWatch([...policy(500), '--approve']);
      try {
        const refused = await late.until('no_candidate');
        expect(refused.reason).toContain('no primary seen since this watcher started');
      } finally {
        await late.stop();
      }

      const promoted = (await approved.until('promoted')) as {
        result: { timeline: number };
        downForMs: number;
      };
      expect(promoted.result.timeline).toBe(2);
      expect(promoted.downForMs).toBeGreaterThanOrEqual(6000);
      expect((await pgQuery(cluster.replica.url, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(
        false,
      );
    } finally {
      await Promise.all([reporting.stop(), approved.stop()]);
    }
  }, 60_000);

  it('rejoins the old primary as a replica with pg_rewind, taking back what it wrote after the split', async () => {
    await pgQuery(cluster.replica.url, `insert into notes values (2, 'on the new primary')`);
    // The old primary comes back as it was and takes a write nobody else has.
    await cluster.start(cluster.primary);
    await pgQuery(cluster.primary.url, `insert into notes values (3, 'split brain')`);
    const running = await dr(
      'rejoin',
      '--data-dir',
      cluster.primary.dataDir,
      '--source',
      cluster.replica.url,
    );
    expect(running.code).toBe(1);
    expect(running.stderr).toContain('is running');
    await cluster.crash(cluster.primary);

    const rejoined = await dr(
      'rejoin',
      '--data-dir',
      cluster.primary.dataDir,
      '--source',
      cluster.replica.url,
      '--start',
    );
    expect(rejoined.stderr).toBe('');
    expect(JSON.parse(rejoined.stdout)).toMatchObject({ method: 'rewind', started: true });
    expect((await pgQuery(cluster.primary.url, 'select pg_is_in_recovery() as r'))[0]?.r).toBe(
      true,
    );
    await pgQuery(cluster.replica.url, `insert into notes values (4, 'after the rejoin')`);
    const rows = await eventually(
      async () => {
        const r = await pgQuery<{ id: number }>(
          cluster.primary.url,
          'select id from notes order by id',
        );
        return r.length === 3 ? r : undefined;
      },
      { what: 'the rejoined node to replay the new primary' },
    );
    expect(rows.map((r) => r.id)).toEqual([1, 2, 4]);
  });

  it('turns synchronous replication on only while the standby streams, and off again', async () => {
    const on = await dr('sync', 'on', '--primary', cluster.replica.url);
    expect(on.code).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({
      synchronousStandbyNames: 'FIRST 1 (parley_standby)',
    });
    await eventually(
      async () =>
        (
          await pgQuery<{ s: string }>(
            cluster.replica.url,
            `select sync_state as s from pg_stat_replication where application_name = 'parley_standby'`,
          )
        )[0]?.s === 'sync'
          ? true
          : undefined,
      { what: 'the standby to count as synchronous' },
    );
    const noStandby = await dr(
      'sync',
      'on',
      '--primary',
      cluster.replica.url,
      '--standby',
      'nobody',
    );
    expect(noStandby.code).toBe(1);
    expect(noStandby.stderr).toContain('no standby named nobody is streaming');
    const off = await dr('sync', 'off', '--primary', cluster.replica.url);
    expect(JSON.parse(off.stdout)).toMatchObject({ synchronousStandbyNames: '' });
  });
});
