// Memory of the service processes over a soak: samples each one's RSS (from
// /proc/<pid>/status, as the kernel and a container limit see it) and its V8
// heap in use (the service's /metrics) every few seconds, then reports the
// growth: first-window vs last-window average and a least-squares slope.
import { readFile } from 'node:fs/promises';
import { mean, slope } from './stats.mjs';

const MiB = 2 ** 20;

/** VmRSS of `pid` in MiB, or NaN once the process is gone. */
async function procRssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The service's own figures from /metrics (prom-client's default metrics), in MiB. */
async function metricsMiB(baseUrl) {
  const text = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.text())
    .catch(() => '');
  const read = (name) =>
    Number(
      new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)`, 'm').exec(text)?.[1] ??
        NaN,
    ) / MiB;
  return {
    heapUsedMiB: read('nodejs_heap_size_used_bytes'),
    metricsRssMiB: read('process_resident_memory_bytes'),
  };
}

/**
 * Samples `services` ({ name: { pid, baseUrl? } }; no baseUrl: this process)
 * every `intervalMs` until stopped.
 */
export class MemorySampler {
  constructor(services, intervalMs) {
    this.services = services;
    this.intervalMs = intervalMs;
    /** @type {Record<string, Array<{ t: number, rssMiB: number, heapUsedMiB: number }>>} */
    this.samples = Object.fromEntries(Object.keys(services).map((name) => [name, []]));
    /** @type {Array<() => void>} */
    this.onSample = [];
  }

  start() {
    this.startedAt = performance.now();
    const tick = async () => {
      await this.sample();
      this.timer = setTimeout(tick, this.intervalMs);
    };
    void tick();
  }

  async sample() {
    const t = (performance.now() - this.startedAt) / 1000;
    await Promise.all(
      Object.entries(this.services).map(async ([name, { pid, baseUrl }]) => {
        const heapUsedMiB = baseUrl
          ? (await metricsMiB(baseUrl)).heapUsedMiB
          : process.memoryUsage().heapUsed / MiB;
        this.samples[name].push({ t, rssMiB: await procRssMiB(pid), heapUsedMiB });
      }),
    );
    for (const fn of this.onSample) fn();
  }

  /** Stops sampling after one last sample. */
  async stop() {
    clearTimeout(this.timer);
    await this.sample();
  }
}

/**
 * Growth per service: average RSS and heap over the first and the last
 * `windowS` seconds, and the slope in MiB/hour over the samples after the
 * first window (warm-up left out: JIT code, pools and caches filling). A
 * service is flagged when its RSS grew (last window above the first) and its
 * slope exceeds `thresholdMiBPerHour`, and only when `judge` (the soak was
 * long enough): over a few minutes the GC's sawtooth dominates the slope.
 */
export function memoryGrowth(samples, { windowS, thresholdMiBPerHour, judge = true }) {
  return Object.fromEntries(
    Object.entries(samples).map(([name, points]) => {
      const end = points.at(-1)?.t ?? 0;
      const first = points.filter((p) => p.t <= windowS);
      const last = points.filter((p) => p.t >= end - windowS);
      const steady = points.filter((p) => p.t >= windowS);
      const perHour = (key) => slope(steady.map((p) => [p.t / 3600, p[key]]));
      const growth = {
        samples: points.length,
        rssFirstMiB: mean(first.map((p) => p.rssMiB)),
        rssLastMiB: mean(last.map((p) => p.rssMiB)),
        heapFirstMiB: mean(first.map((p) => p.heapUsedMiB)),
        heapLastMiB: mean(last.map((p) => p.heapUsedMiB)),
        rssSlopeMiBPerHour: perHour('rssMiB'),
        heapSlopeMiBPerHour: perHour('heapUsedMiB'),
      };
      const flagged =
        judge &&
        growth.rssLastMiB > growth.rssFirstMiB &&
        growth.rssSlopeMiBPerHour > thresholdMiBPerHour;
      return [name, { ...growth, flagged }];
    }),
  );
}
