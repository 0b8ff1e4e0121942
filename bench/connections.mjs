// Idle connections past one process's file limit: N widget sessions (default
// 50,000) held open across several gateway processes, against the same count
// of sessions on a bare `ws` server (the baseline, measured in the same run,
// up to 15,000: one process). This machine allows 20,000 open files per
// process and the limit cannot be raised, so the sessions are spread over
// `--gateways` gateway processes and over client processes of up to 15,000
// sockets each.
//
// Reports sessions opened per second (session over REST, socket, `resume`),
// RSS per connection, and over one heartbeat interval (15 s) the gateways'
// and Redis's CPU per 10,000 idle connections, each with its ratio to the
// baseline. Needs `scripts/infra up`; loopback only, bounded (≤ 60,000
// sessions, ≤ 6 gateways).
//   pnpm --filter @parley/bench connections [sessions=50000] [--gateways=3]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startDistributed, startEchoBaseline } from './lib/platform.mjs';
import { cpuSince, cpuSnapshot, infraPids } from './lib/cpu.mjs';

const sessions = Math.min(
  Number(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 50_000),
  60_000,
);
const gatewaysArg = process.argv.find((a) => a.startsWith('--gateways='));
const gatewayCount = Math.max(1, Math.min(Number(gatewaysArg?.split('=')[1] ?? 3), 6));
const PER_CLIENT = 15_000;
const HEARTBEAT_S = 15;

async function rss(baseUrl) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Asks every client process, returns their answers. */
async function ask(clients, messages) {
  return Promise.all(
    clients.map(async (child, i) => {
      const answer = once(child, 'message');
      child.send(messages[i] ?? messages[0]);
      return (await answer)[0];
    }),
  );
}

/**
 * Opens `count` sessions on `targets` from client processes, holds them for
 * one heartbeat interval and reports. `measure` gives the RSS (bytes) of the
 * server side; `pids` the processes whose CPU is counted.
 */
async function hold(label, targets, count, { widgetKey, origin }, measure, pids) {
  const clients = Array.from({ length: Math.ceil(count / PER_CLIENT) }, () =>
    fork(fileURLToPath(new URL('./lib/connections-worker.mjs', import.meta.url)), {
      stdio: 'inherit',
    }),
  );
  try {
    const before = await measure();
    const started = performance.now();
    const shares = clients.map(
      (_, i) => Math.floor(count / clients.length) + (i < count % clients.length ? 1 : 0),
    );
    const opened = await ask(
      clients,
      shares.map((share) => ({ cmd: 'open', targets, count: share, widgetKey, origin })),
    );
    const seconds = (performance.now() - started) / 1000;
    const total = opened.reduce((n, r) => n + r.opened, 0);
    const failed = opened.reduce((n, r) => n + r.failed, 0);
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await measure();
    const cpuBefore = cpuSnapshot(pids);
    await new Promise((r) => setTimeout(r, HEARTBEAT_S * 1000));
    const used = cpuSince(cpuBefore, undefined, pids);
    const still = (await ask(clients, [{ cmd: 'count' }])).reduce((n, r) => n + r.open, 0);
    const result = {
      label,
      total,
      failed,
      firstError: opened.find((r) => r.firstError)?.firstError,
      perSecond: total / seconds,
      seconds,
      kibPerConnection: (after - before) / total / 1024,
      held: still,
      cpu: Object.fromEntries(
        Object.entries(used).map(([name, ms]) => [
          name,
          (ms / HEARTBEAT_S / 10) * (10_000 / total), // % of a core per 10,000
        ]),
      ),
    };
    console.log(
      `${label.padEnd(30)} ${total} sessions (${failed} failed) open in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.perSecond)}/s), ${still} still open after ${HEARTBEAT_S} s; ` +
        `RSS +${((after - before) / 2 ** 20).toFixed(0)} MiB = ${result.kibPerConnection.toFixed(1)} KiB per connection`,
    );
    if (result.firstError) console.log(`  first failure: ${result.firstError}`);
    for (const [name, pct] of Object.entries(result.cpu))
      console.log(`  ${name.padEnd(20)} ${pct.toFixed(2)} % of a core per 10,000 idle connections`);
    return result;
  } finally {
    await ask(clients, [{ cmd: 'close' }]).catch(() => undefined);
  }
}

function rssOfPid(pid) {
  return async () => {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024;
  };
}

// Baseline: a bare ws server (bench/lib/echo-server.mjs), one process.
const echo = await startEchoBaseline();
const baseline = await hold(
  'bare ws server (baseline)',
  [echo.target.baseUrl],
  Math.min(sessions, PER_CLIENT),
  echo.target,
  rssOfPid(echo.pid),
  { 'bare ws server': echo.pid },
);
await echo.stop();

const names = [
  'chat',
  'gateway',
  ...Array.from({ length: gatewayCount - 1 }, (_, i) => `gateway#${i + 2}`),
];
const platform = await startDistributed(names);
try {
  const gateways = names.filter((n) => n.startsWith('gateway')).map((n) => platform.procs[n]);
  const targets = gateways.map((g) => g.baseUrl);
  const redis = infraPids().redis;
  const pids = {
    ...Object.fromEntries(gateways.map((g, i) => [`gateway ${i + 1}`, g.child.pid])),
    ...(redis ? { redis } : {}),
  };
  const result = await hold(
    `${gatewayCount} gateway processes`,
    targets,
    sessions,
    platform,
    async () => (await Promise.all(targets.map(rss))).reduce((a, b) => a + b, 0),
    pids,
  );
  const gatewayCpu = Object.entries(result.cpu)
    .filter(([n]) => n.startsWith('gateway'))
    .reduce((n, [, v]) => n + v, 0);
  console.log(
    `  all gateways together ${gatewayCpu.toFixed(2)} % of a core per 10,000 (baseline ${baseline.cpu['bare ws server'].toFixed(2)} %)`,
  );
  console.log(
    `  ratio to baseline: opened per second ${(result.perSecond / baseline.perSecond).toFixed(2)}, ` +
      `RSS per connection ×${(result.kibPerConnection / baseline.kibPerConnection).toFixed(1)}`,
  );
} finally {
  await platform.stop();
}
process.exit(0);
