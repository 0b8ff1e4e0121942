// Figures the benchmarks share: percentiles of a sample, a one-line latency
// summary, and a least-squares slope (memory growth over time).

/**
 * The `p`-th percentile (nearest rank) of an ascending array; NaN when empty.
 * @param {number[]} sorted
 * @param {number} p 0..100
 */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Count, p50/p95/p99 and max of latencies in ms (sorts a copy).
 * @param {number[]} latencies
 */
export function summarize(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** "p50 1.8 ms  p95 5.3 ms  p99 5.5 ms" */
export function formatPercentiles({ p50, p95, p99 }) {
  return `p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms`;
}

/**
 * Prints one benchmark line (label, messages, msg/s, percentiles) and returns
 * the figures with `perSecond`.
 * @param {string} label
 * @param {number[]} latencies ms
 * @param {number} elapsedMs the wall time the messages took
 */
export function report(label, latencies, elapsedMs) {
  const result = {
    label,
    ...summarize(latencies),
    perSecond: (latencies.length / elapsedMs) * 1000,
  };
  console.log(
    `${label.padEnd(26)} ${String(result.count).padStart(6)} msgs  ${result.perSecond.toFixed(0).padStart(6)} msg/s  ` +
      formatPercentiles(result),
  );
  return result;
}

/**
 * Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two points.
 * @param {Array<[number, number]>} points [x, y]
 */
export function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** Arithmetic mean; NaN when empty. @param {number[]} values */
export function mean(values) {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
