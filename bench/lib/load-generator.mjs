// The load generator: widget sessions spread over worker threads (one
// LoadShard each), driven at a fixed arrival rate, with the figures added up:
// connect time, send -> answer latency, error rate, throughput, and whether
// the run kept up (the generator's own lag, answers falling behind arrivals).
import { Worker } from 'node:worker_threads';
import { percentile, summarize } from './stats.mjs';

/**
 * The design's targets (docs/design/README.md#004-chatbot-resilience-layers):
 * 95 % of answers within 3 s, error rate under 0.1 %.
 */
export const TARGETS = { p95Ms: 3_000, errorRate: 0.001 };

class ShardWorker {
  constructor(target) {
    this.worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
      workerData: { target },
    });
    this.calls = new Map();
    this.nextId = 0;
    this.worker.on('message', ({ id, result, error }) => {
      const call = this.calls.get(id);
      this.calls.delete(id);
      if (error) call?.reject(new Error(error));
      else call?.resolve(result);
    });
    this.worker.on('error', (err) => {
      for (const call of this.calls.values()) call.reject(err);
      this.calls.clear();
    });
  }

  call(cmd, args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, cmd, args });
    });
  }
}

/** Adds counts by key. */
function addCounts(into, from) {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/**
 * Widget sessions against one target ({ baseUrl, widgetKey, origin }),
 * spread over `workers` threads.
 */
export class LoadGenerator {
  constructor(target, { workers = 1 } = {}) {
    this.shards = Array.from({ length: workers }, () => new ShardWorker(target));
    this.runs = 0;
  }

  /**
   * Opens `sessions` sessions at once (each worker `concurrency` at a time) and
   * returns { open, failures, connect: {p50, p99, ...}, elapsedMs }.
   */
  async connect(sessions, concurrency = 50) {
    const started = performance.now();
    const per = this.share(sessions);
    const results = await Promise.all(
      this.shards.map((s, i) => s.call('connect', { count: per[i], concurrency })),
    );
    return {
      open: results.reduce((n, r) => n + r.open, 0),
      failures: results.reduce((f, r) => addCounts(f, r.failures), {}),
      connect: summarize(results.flatMap((r) => r.connectMs)),
      elapsedMs: performance.now() - started,
    };
  }

  /**
   * Sends `rate` messages per second for `durationMs` over the open sessions
   * (an open model: arrivals do not wait for answers), waits up to
   * `answerTimeoutMs` for the last answers, and returns the run's figures.
   */
  async drive({ rate, durationMs, answerTimeoutMs = 30_000 }) {
    const startAt = Date.now() + 200;
    const workers = this.shards.length;
    const run = ++this.runs;
    const results = await Promise.all(
      this.shards.map((s, i) =>
        s.call('drive', {
          rate: rate / workers,
          durationMs,
          startAt,
          phase: i / workers,
          answerTimeoutMs,
          idPrefix: `r${run}w${i}`,
        }),
      ),
    );
    const scheduled = results.reduce((n, r) => n + r.scheduled, 0);
    const errors = results.reduce((e, r) => addCounts(e, r.errors), {});
    const failed = Object.values(errors).reduce((a, b) => a + b, 0);
    const latencies = results.flatMap((r) => r.latencies);
    const answered = latencies.length;
    const lastAnswerAt = Math.max(...results.map((r) => r.lastAnswerAt));
    const lag = Float64Array.from(results.flatMap((r) => r.lagMs)).sort();
    const latency = summarize(latencies);
    const dueOffsets = results.flatMap((r) => r.dueOffsets);
    const figures = {
      rate,
      durationMs,
      scheduled,
      sent: results.reduce((n, r) => n + r.sent, 0),
      answered,
      errors,
      // Messages that failed (counted once each) over those that were due.
      errorRate: scheduled === 0 ? 0 : Math.min(failed, scheduled) / scheduled,
      latency,
      offeredPerSecond: (scheduled / durationMs) * 1000,
      // Answers over the time from the first arrival to the last answer.
      throughputPerSecond: (answered / Math.max(durationMs, lastAnswerAt - startAt)) * 1000,
      generatorLagP99Ms: percentile(lag, 99),
      generatorLoopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
      backlogAtLastArrival: results.reduce((n, r) => n + r.backlogAtLastArrival, 0),
      openSessions: results.reduce((n, r) => n + r.openSessions, 0),
      timeline: timeline(dueOffsets, latencies, durationMs),
    };
    return { ...figures, overload: overloadReasons(figures) };
  }

  async close() {
    await Promise.all(this.shards.map((s) => s.call('close')));
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }

  /** Splits `n` over the shards as evenly as possible. */
  share(n) {
    const w = this.shards.length;
    return this.shards.map((_, i) => Math.floor(n / w) + (i < n % w ? 1 : 0));
  }
}

/**
 * Latency p50/p95 of the messages due in each twelfth of the run (at least 2 s
 * each): a warm-up spike shows in the first slice, a backlog as a rise.
 */
function timeline(dueOffsets, latencies, durationMs) {
  const sliceMs = Math.max(2_000, durationMs / 12);
  const slices = [];
  for (let from = 0; from < durationMs; from += sliceMs) {
    const inSlice = latencies.filter(
      (_, i) => dueOffsets[i] >= from && dueOffsets[i] < from + sliceMs,
    );
    const { count, p50, p95 } = summarize(inSlice);
    slices.push({ fromS: from / 1000, count, p50, p95 });
  }
  return slices;
}

/**
 * Why a run did not keep up, or [] when it did: answers falling behind the
 * arrivals (throughput under 95 % of the offered rate, or more than three
 * seconds of arrivals still unanswered when the last one went out), the
 * generator itself falling behind its schedule, or {@link TARGETS} missed.
 */
export function overloadReasons(f) {
  const reasons = [];
  if (f.throughputPerSecond < 0.95 * f.offeredPerSecond)
    reasons.push(
      `answers ${f.throughputPerSecond.toFixed(1)}/s < 95 % of offered ${f.offeredPerSecond.toFixed(1)}/s`,
    );
  if (f.backlogAtLastArrival > 3 * f.rate)
    reasons.push(
      `${f.backlogAtLastArrival} messages unanswered at the last arrival (> 3 s of load)`,
    );
  if (f.generatorLagP99Ms > 100)
    reasons.push(`generator behind schedule: lag p99 ${f.generatorLagP99Ms.toFixed(0)} ms`);
  if (f.latency.p95 > TARGETS.p95Ms)
    reasons.push(`p95 ${f.latency.p95.toFixed(0)} ms > the design's ${TARGETS.p95Ms} ms`);
  if (f.errorRate >= TARGETS.errorRate)
    reasons.push(`error rate ${(f.errorRate * 100).toFixed(2)} % >= ${TARGETS.errorRate * 100} %`);
  return reasons;
}
