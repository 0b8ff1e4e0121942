// Load and soak: S concurrent widget sessions on the distributed platform
// (gateway, chat and AI as processes on the local Kafka, Postgres and Redis),
// each connected over its own WebSocket, while messages arrive at a fixed rate
// (an open model: arrivals do not wait for answers) for a bounded time.
// Reports connect time p50/p99, send -> answer latency p50/p95/p99 (from when
// each message was due), error rate (coded error frames, late and unanswered
// messages, closed sockets), throughput, and the ratios against a bare `ws`
// server speaking the same protocol, driven by the same generator in the same
// run. A run that does not keep up says so (and why) instead of hiding it.
//
// --soak <minutes> (off by default) then keeps a steady load on the same
// sessions and samples every service's RSS (/proc) and V8 heap (/metrics),
// reporting each one's growth (first vs last minute, slope in MiB/hour), and
// flagging growth over --leak-threshold MiB/hour on soaks of 10 minutes or more.
//
//   pnpm --filter @parley/bench load [--sessions 1000] [--rate 20] [--duration 60]
//     [--workers 1] [--answer-timeout 30] [--soak 0] [--soak-rate rate/2]
//     [--sample 10] [--leak-threshold 50] [--skip-baseline] [--json file]
//     [--service-env KEY=VALUE ...]
//
// Needs `scripts/infra up`. Loopback only; bounded: sessions <= 5000, rate <=
// 1000/s, duration <= 15 min, soak <= 24 h, and a deadline on the whole run.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LoadGenerator, TARGETS } from './lib/load-generator.mjs';
import { MemorySampler, memoryGrowth } from './lib/memory.mjs';
import { startDistributed, startEchoBaseline } from './lib/platform.mjs';
import { formatPercentiles } from './lib/stats.mjs';

const USAGE = `usage: pnpm --filter @parley/bench load [--sessions 1000] [--rate 20] [--duration 60]
  [--workers 1] [--answer-timeout 30] [--soak 0] [--soak-rate rate/2] [--sample 10]
  [--leak-threshold 50] [--skip-baseline] [--json file] [--service-env KEY=VALUE ...]`;
const { values: opt } = parseArgsOrExit({
  options: {
    sessions: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '60' },
    workers: { type: 'string', default: '1' },
    'answer-timeout': { type: 'string', default: '30' },
    soak: { type: 'string', default: '0' },
    'soak-rate': { type: 'string' },
    sample: { type: 'string' },
    'leak-threshold': { type: 'string', default: '50' },
    'skip-baseline': { type: 'boolean', default: false },
    json: { type: 'string' },
    'service-env': { type: 'string', multiple: true, default: [] },
  },
});
/** parseArgs, but a bad or unknown option prints the usage and exits 2. */
function parseArgsOrExit(config) {
  try {
    return parseArgs(config);
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
}
/** A number option within [min, max], or exit naming it. */
function num(name, min, max) {
  const value = Number(opt[name]);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} ${opt[name]}: expected a number from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}
const sessions = Math.round(num('sessions', 1, 5_000));
const rate = num('rate', 0.1, 1_000);
const durationS = num('duration', 1, 900);
const workers = Math.round(num('workers', 1, 8));
const answerTimeoutMs = num('answer-timeout', 1, 300) * 1000;
const soakMin = num('soak', 0, 1_440);
opt['soak-rate'] ??= String(rate / 2);
const soakRate = num('soak-rate', 0.1, 1_000);
opt.sample ??= soakMin >= 3 ? '10' : '5';
const sampleS = num('sample', 1, 600);
const leakThreshold = num('leak-threshold', 0, 100_000);

// --service-env KEY=VALUE (repeatable): a setting for every service process, to try a tuning.
const serviceEnv = Object.fromEntries(
  opt['service-env'].map((pair) => {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) {
      console.error(`--service-env ${pair}: expected KEY=VALUE`);
      process.exit(2);
    }
    return [match[1], match[2]];
  }),
);

const BOUND_MS =
  180_000 + 2 * (durationS * 1000 + answerTimeoutMs) + soakMin * 60_000 + answerTimeoutMs;
/** The service processes, killed if this one is stopped or gives up (they would outlive it). */
let platform;
function abandon(why) {
  console.error(`load: ${why}; stopping`);
  for (const proc of Object.values(platform?.procs ?? {})) proc.child.kill('SIGKILL');
  process.exit(2);
}
setTimeout(
  () => abandon(`still running after ${(BOUND_MS / 1000).toFixed(0)} s`),
  BOUND_MS,
).unref();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => abandon(signal));

/** Shorter soaks report memory but flag nothing: minutes of samples are mostly GC sawtooth. */
const MIN_SOAK_TO_JUDGE_MIN = 10;
const mib = (v) => `${v.toFixed(0)} MiB`;
const formatTimeline = (slices) =>
  slices
    .map((s) => `${s.fromS.toFixed(0)} s ${s.p50.toFixed(0)}/${s.p95.toFixed(0)} ms`)
    .join(', ');
const pct = (v) => `${(v * 100).toFixed(3)} %`;

/** Connects the sessions, drives the load, prints and returns the figures. */
async function loadRun(label, target) {
  const generator = new LoadGenerator(target, { workers });
  const connected = await generator.connect(sessions);
  const run = await generator.drive({ rate, durationMs: durationS * 1000, answerTimeoutMs });
  const failed = Object.values(connected.failures).reduce((a, b) => a + b, 0);
  console.log(
    `${label.padEnd(24)} ${connected.open}/${sessions} sessions in ${(connected.elapsedMs / 1000).toFixed(1)} s ` +
      `(connect p50 ${connected.connect.p50.toFixed(1)} ms, p99 ${connected.connect.p99.toFixed(1)} ms${failed ? `, ${failed} refused ${JSON.stringify(connected.failures)}` : ''})\n` +
      `${''.padEnd(24)} ${run.answered}/${run.scheduled} answered, ${run.throughputPerSecond.toFixed(1)} msg/s, ` +
      `${formatPercentiles(run.latency)}, errors ${pct(run.errorRate)}${Object.keys(run.errors).length ? ` ${JSON.stringify(run.errors)}` : ''}\n` +
      `${''.padEnd(24)} ${run.overload.length ? `OVERLOADED: ${run.overload.join('; ')}` : 'kept up'} ` +
      `(generator lag p99 ${run.generatorLagP99Ms.toFixed(1)} ms, event-loop delay p99 ${run.generatorLoopDelayP99Ms.toFixed(1)} ms)\n` +
      `${''.padEnd(24)} p50/p95 by when due: ${formatTimeline(run.timeline)}`,
  );
  return { generator, connected, run };
}

console.log(
  `load: ${sessions} sessions, ${rate} msg/s for ${durationS} s (open model), ${workers} generator thread(s), ` +
    `answer timeout ${answerTimeoutMs / 1000} s; targets (the design's): p95 < ${TARGETS.p95Ms} ms, errors < ${TARGETS.errorRate * 100} %`,
);
const result = {
  startedAt: new Date().toISOString(),
  options: { sessions, rate, durationS, workers, answerTimeoutMs },
};

if (!opt['skip-baseline']) {
  const echo = await startEchoBaseline();
  const { generator, connected, run } = await loadRun('bare ws (baseline)', echo.target);
  await generator.close();
  await echo.stop();
  result.baseline = { connect: connected.connect, failures: connected.failures, ...run };
}

const services = ['chat', 'ai', 'gateway'];
platform = await startDistributed(services, serviceEnv);
try {
  const { generator, connected, run } = await loadRun('distributed (3 processes)', {
    baseUrl: platform.procs.gateway.baseUrl,
    widgetKey: platform.widgetKey,
    origin: platform.origin,
  });
  result.platform = {
    connect: connected.connect,
    failures: connected.failures,
    open: connected.open,
    ...run,
  };
  if (result.baseline) {
    const b = result.baseline;
    result.ratios = {
      throughput: run.throughputPerSecond / b.throughputPerSecond,
      connectP50: connected.connect.p50 / b.connect.p50,
      connectP99: connected.connect.p99 / b.connect.p99,
      latencyP50: run.latency.p50 / b.latency.p50,
      latencyP95: run.latency.p95 / b.latency.p95,
      latencyP99: run.latency.p99 / b.latency.p99,
    };
    const r = result.ratios;
    console.log(
      `  ratio to baseline: throughput ${r.throughput.toFixed(3)}, connect p50 x${r.connectP50.toFixed(1)} p99 x${r.connectP99.toFixed(1)}, ` +
        `latency p50 x${r.latencyP50.toFixed(1)} p95 x${r.latencyP95.toFixed(1)} p99 x${r.latencyP99.toFixed(1)}`,
    );
  }

  if (soakMin > 0) {
    console.log(
      `soak: ${soakMin} min at ${soakRate} msg/s on the same ${connected.open} sessions, memory every ${sampleS} s`,
    );
    const sampler = new MemorySampler(
      {
        ...Object.fromEntries(
          services.map((name) => [
            name,
            { pid: platform.procs[name].child.pid, baseUrl: platform.procs[name].baseUrl },
          ]),
        ),
        'load generator': { pid: process.pid },
      },
      sampleS * 1000,
    );
    // The processes' log lines are kept by startServiceProcess; a long soak need not keep them.
    sampler.onSample.push(() => services.forEach((name) => (platform.procs[name].logs.length = 0)));
    sampler.start();
    const soak = await generator.drive({
      rate: soakRate,
      durationMs: soakMin * 60_000,
      answerTimeoutMs,
    });
    await sampler.stop();
    const windowS = Math.min(60, (soakMin * 60) / 3);
    const judge = soakMin >= MIN_SOAK_TO_JUDGE_MIN;
    const growth = memoryGrowth(sampler.samples, {
      windowS,
      thresholdMiBPerHour: leakThreshold,
      judge,
    });
    result.soak = {
      minutes: soakMin,
      rate: soakRate,
      sampleS,
      windowS,
      run: soak,
      growth,
      samples: sampler.samples,
    };
    console.log(
      `  ${soak.answered}/${soak.scheduled} answered, ${soak.throughputPerSecond.toFixed(1)} msg/s, ${formatPercentiles(soak.latency)}, ` +
        `errors ${pct(soak.errorRate)}${Object.keys(soak.errors).length ? ` ${JSON.stringify(soak.errors)}` : ''}` +
        `${soak.overload.length ? `; OVERLOADED: ${soak.overload.join('; ')}` : '; kept up'}`,
    );
    console.log(
      `  memory, first vs last ${windowS.toFixed(0)} s (slope after the first window)` +
        (judge
          ? ':'
          : `; under ${MIN_SOAK_TO_JUDGE_MIN} min the GC's sawtooth swamps the slope, so no verdict:`),
    );
    for (const [name, g] of Object.entries(growth)) {
      console.log(
        `  ${name.padEnd(16)} RSS ${mib(g.rssFirstMiB)} -> ${mib(g.rssLastMiB)} (${g.rssSlopeMiBPerHour.toFixed(0)} MiB/h)  ` +
          `heap ${mib(g.heapFirstMiB)} -> ${mib(g.heapLastMiB)} (${g.heapSlopeMiBPerHour.toFixed(0)} MiB/h)` +
          `${g.flagged ? `  GROWING: RSS up and its slope above ${leakThreshold} MiB/h` : ''}`,
      );
    }
  }
  await generator.close();
} finally {
  await platform.stop();
}
if (opt.json) writeFileSync(opt.json, JSON.stringify(result, null, 2));
process.exit(0);
