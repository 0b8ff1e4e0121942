/**
 * The synthetic chat probe: one conversation through the public widget API,
 * timed and checked, reported to a Pushgateway and to the gateway's status
 * page. `parley-probe` (src/cli.ts) runs it once and exits non-zero on failure.
 *
 * ```ts
 * import { runProbe, reportResult } from '@parley/probe';
 * const result = await runProbe({ url, widgetKey: 'pk_probe', origin, question: 'What are your opening hours?', expect: 'Monday' });
 * await reportResult(url, operatorToken, result, { intervalSeconds: 60 });
 * ```
 */
export {
  runProbe,
  type ProbeOptions,
  type ProbeResult,
  type ProbeLatency,
  type ProbeErrorCode,
} from './probe.js';
export { PROBE_PHASES, pushResult, reportResult, resultMetrics } from './report.js';
