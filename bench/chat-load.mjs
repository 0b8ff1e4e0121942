// Chat throughput and latency: N WebSocket widgets each send M messages, one
// after another, each waiting for the assistant's reply (send -> reply is the
// end-to-end latency). Measured in the same run against the ceiling, a bare
// `ws` echo server driven by the same load generator (send -> echo), and
// reported as a ratio. Then idle-session capacity: how many idle sessions one
// gateway process holds and its memory per connection.
//
//   pnpm --filter @parley/bench chat-load [clients=50] [messages=20] [idle=2000] [--distributed | --distributed-only]
//
// The distributed run also prints each process's CPU milliseconds per message and
// reply (gateway, chat, AI, Kafka, Redis, the Postgres primary and replica with
// their backends, from /proc), and per second with no traffic.
//
// Embedded mode needs nothing; --distributed also runs gateway, chat and AI as
// processes on the local infrastructure (`scripts/infra up`). Loopback only,
// bounded in count (clients <= 500, messages <= 200, idle <= 20000) and time.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { WidgetClient, startServiceProcess, openSocket, createSession } from '@parley/testing';
import { limits, startDistributed } from './lib/platform.mjs';
import { report } from './lib/stats.mjs';
import { cpuSince, cpuSnapshot, infraPids, printCpu } from './lib/cpu.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const distributed =
  process.argv.includes('--distributed') || process.argv.includes('--distributed-only');
// --distributed-only: skip the embedded run (the CPU per message is measured on the distributed one).
const embeddedRun = !process.argv.includes('--distributed-only');
const clients = Math.min(Number(args[0] ?? 50), 500);
const messages = Math.min(Number(args[1] ?? 20), 200);
const idle = Math.min(Number(args[2] ?? 2_000), 20_000);
const require = createRequire(import.meta.url);
const BOUND_MS = 300_000;
setTimeout(() => {
  console.error(`bench: still running after ${BOUND_MS / 1000} s; giving up`);
  process.exit(2);
}, BOUND_MS).unref();

/** The ceiling: a bare ws echo server in a child process, same client loop. */
async function echoBaseline() {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { WebSocketServer } from 'ws';
       const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
       wss.on('listening', () => console.log(wss.address().port));
       wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d.toString())));`,
    ],
    { cwd: new URL('.', import.meta.url), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(d))));
  const { WebSocket } = await import('ws');
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      for (let n = 0; n < messages; n++) {
        const t0 = performance.now();
        const echoed = new Promise((r) => ws.once('message', r));
        ws.send(JSON.stringify({ type: 'message', clientMessageId: `m-${n}`, text: 'hello' }));
        await echoed;
        latencies.push(performance.now() - t0);
      }
      ws.close();
    }),
  );
  const result = report('bare ws echo (ceiling)', latencies, performance.now() - started);
  child.kill();
  return result;
}

/** N widgets chatting through the gateway at `baseUrl`. */
async function chat(label, baseUrl, widgetKey, origin, rounds = messages) {
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = await WidgetClient.connect(baseUrl, { widgetKey, origin });
      client.send({ type: 'resume', afterSeq: 0 });
      for (let n = 0; n < rounds; n++) {
        const from = client.frames.length;
        const t0 = performance.now();
        client.send({
          type: 'message',
          clientMessageId: `m-${n}`,
          text: 'What are your opening hours?',
        });
        await client.waitFor((f) => f.type === 'message' && f.role === 'assistant', {
          from,
          timeoutMs: 30_000,
        });
        latencies.push(performance.now() - t0);
      }
      client.close();
    }),
  );
  return report(label, latencies, performance.now() - started);
}

async function rss(baseUrl) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

/**
 * Opens `idle` sessions that just sit there: the gateway's memory per
 * connection, sessions opened per second, and with `pids` (gateway, Redis)
 * their CPU over one heartbeat interval (15 s) per 10,000 idle connections.
 */
async function idleCapacity(label, baseUrl, widgetKey, origin, pids = undefined) {
  const before = await rss(baseUrl);
  const sockets = [];
  const started = performance.now();
  let opened = 0;
  for (let i = 0; i < idle; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, idle - i) }, async () => {
        const { body } = await createSession(baseUrl, { widgetKey }, origin);
        const ws = await openSocket(baseUrl, body.websocketPath, body.sessionToken, origin);
        ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
        return ws;
      }),
    );
    sockets.push(...batch);
  }
  opened = performance.now() - started;
  await new Promise((r) => setTimeout(r, 2_000));
  global.gc?.();
  const after = await rss(baseUrl);
  const perConnection = (after - before) / sockets.length;
  console.log(
    `${label.padEnd(26)} ${sockets.length} idle sessions open in ${(opened / 1000).toFixed(1)} s ` +
      `(${Math.round(sockets.length / (opened / 1000))}/s); ` +
      `RSS ${(before / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MiB = ${(perConnection / 1024).toFixed(1)} KiB per connection`,
  );
  if (pids) {
    const cpuBefore = cpuSnapshot(pids);
    await new Promise((r) => setTimeout(r, 15_000));
    const used = cpuSince(cpuBefore, undefined, pids);
    for (const [name, ms] of Object.entries(used))
      console.log(
        `  ${name.padEnd(18)} ${((ms / 15 / 10) * (10_000 / sockets.length)).toFixed(2)} % of a core per 10,000 idle connections`,
      );
  }
  for (const ws of sockets) ws.terminate();
}

const ceiling = await echoBaseline();

// Embedded: the whole platform in one child process.
if (embeddedRun) {
  const proc = await startServiceProcess(require.resolve('@parley/standalone/main'), {
    env: { ...limits, PARLEY_DATA_DIR: ':memory:' },
    startTimeoutMs: 60_000,
  });
  await new Promise((r) => setTimeout(r, 500)); // the demo tenant is seeded right after listen
  const embedded = await chat('embedded platform', proc.baseUrl, 'pk_demo', proc.baseUrl);
  console.log(
    `  ratio to ceiling: throughput ${(embedded.perSecond / ceiling.perSecond).toFixed(3)}, p50 latency x${(embedded.p50 / ceiling.p50).toFixed(1)}`,
  );
  await idleCapacity('embedded gateway', proc.baseUrl, 'pk_demo', proc.baseUrl);
  await proc.stop();
}

if (distributed) {
  const platform = await startDistributed(['chat', 'ai', 'gateway']);
  const gateway = platform.procs.gateway;
  const pids = {
    ...Object.fromEntries(Object.entries(platform.procs).map(([n, p]) => [n, p.child.pid])),
    ...infraPids(),
  };
  // Warm: one round first, so the measured run sees compiled code and open connections.
  await chat('distributed warm-up', gateway.baseUrl, platform.widgetKey, platform.origin, 1);
  const before = cpuSnapshot(pids);
  const result = await chat(
    'distributed (3 processes)',
    gateway.baseUrl,
    platform.widgetKey,
    platform.origin,
  );
  const used = cpuSince(before, undefined, pids);
  console.log(
    `  ratio to ceiling: throughput ${(result.perSecond / ceiling.perSecond).toFixed(3)}, p50 latency x${(result.p50 / ceiling.p50).toFixed(1)}`,
  );
  printCpu(used, clients * messages, 'message and its reply');
  // Idle: nothing sent for 10 s, every process's CPU per second.
  const idleBefore = cpuSnapshot(pids);
  await new Promise((r) => setTimeout(r, 10_000));
  printCpu(
    Object.fromEntries(
      Object.entries(cpuSince(idleBefore, undefined, pids)).map(([n, ms]) => [n, ms]),
    ),
    10,
    'second idle',
  );
  await idleCapacity('distributed gateway', gateway.baseUrl, platform.widgetKey, platform.origin, {
    gateway: pids.gateway,
    ...(pids.redis ? { redis: pids.redis } : {}),
  });
  await platform.stop();
}
process.exit(0);
