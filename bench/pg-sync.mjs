// The latency cost of synchronous replication (RPO zero): commit latency of a
// one-row insert with `synchronous_commit = on` and a synchronous standby,
// against the baseline measured in the same run on the same connection:
// `synchronous_commit = local` (the commit waits for the primary's own disk
// only, as with asynchronous replication). Twice: the standby on loopback,
// then behind a proxy adding a one-way delay to the replication stream
// (a standby in another zone).
//   scripts/infra up && pnpm --filter @parley/bench pg-sync [commits=400] [delayMs=1]
import { createServer, connect } from 'node:net';
import pg from 'pg';
import { startPgCluster } from '@parley/testing';

const commits = Math.min(Number(process.argv[2] ?? 400), 5_000);
const delayMs = Math.min(Number(process.argv[3] ?? 1), 50);
if (!process.env.PARLEY_PG_BIN) process.env.PARLEY_PG_BIN = (await infraBin()) ?? '';

async function infraBin() {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL('../.infra/env', import.meta.url), 'utf8').catch(() => '');
  return /PARLEY_PG_BIN=["']?([^"'\n]+)/.exec(text)?.[1];
}

/** A TCP proxy on loopback that holds every chunk `delay` ms in each direction. */
async function delayingProxy(targetPort, delay) {
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      // As Postgres does on its own sockets: no Nagle delay on small replies.
      s.setNoDelay(true);
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    const relay = (from, to) =>
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), delay));
    relay(client, upstream);
    relay(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function measure(client) {
  const times = { local: [], on: [] };
  // Interleaved batches, so drift on the machine touches both modes alike.
  for (let done = 0; done < commits; done += 50) {
    for (const mode of ['local', 'on']) {
      await client.query(`set synchronous_commit = ${mode}`);
      for (let i = 0; i < 50; i++) {
        const started = performance.now();
        await client.query('insert into bench_commits (body) values ($1)', [`${mode}-${done + i}`]);
        times[mode].push(performance.now() - started);
      }
    }
  }
  return times;
}

async function waitForSync(client) {
  for (let i = 0; i < 300; i++) {
    const { rows } = await client.query(
      `select count(*)::int as n from pg_stat_replication where sync_state = 'sync' and state = 'streaming'`,
    );
    if (rows[0].n === 1) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the standby did not stream synchronously again within 30 s');
}

const cluster = await startPgCluster({ synchronous: true });
const client = new pg.Client({ connectionString: cluster.primary.url });
let proxy;
try {
  await client.connect();
  await client.query('create table bench_commits (id bigserial primary key, body text not null)');
  const rows = [];
  const report = (where, times) => {
    const local50 = percentile(times.local, 50);
    const on50 = percentile(times.on, 50);
    rows.push({
      standby: where,
      'local p50 ms': local50.toFixed(3),
      'local p99 ms': percentile(times.local, 99).toFixed(3),
      'sync p50 ms': on50.toFixed(3),
      'sync p99 ms': percentile(times.on, 99).toFixed(3),
      'ratio p50': (on50 / local50).toFixed(2),
      'added p50 ms': (on50 - local50).toFixed(3),
    });
  };
  report('loopback', await measure(client));

  proxy = await delayingProxy(cluster.primary.port, delayMs);
  const replica = new pg.Client({ connectionString: cluster.replica.url });
  await replica.connect();
  await replica.query(
    `alter system set primary_conninfo = 'host=127.0.0.1 port=${proxy.port} user=postgres application_name=parley_standby'`,
  );
  await replica.query('select pg_reload_conf()');
  await replica.end();
  await new Promise((r) => setTimeout(r, 500));
  await waitForSync(client);
  report(`+${delayMs} ms each way`, await measure(client));
  console.table(rows);
  console.log(
    `${commits} commits per mode and placement; baseline: synchronous_commit = local on the same connection`,
  );
} finally {
  await client.end().catch(() => undefined);
  await proxy?.close();
  await cluster.destroy();
}
