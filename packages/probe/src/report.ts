import { Gauge, Pushgateway, Registry } from 'prom-client';
import type { ProbeResult } from './probe.js';

/** The probe's timed phases and their `phase` label values (the gateway exports the same). */
export const PROBE_PHASES = {
  session: 'session',
  connect: 'connect',
  firstToken: 'first_token',
  answer: 'answer',
  total: 'total',
} as const;

/** The run as Prometheus metrics (the same names the gateway exports from the runs it is told of). */
export function resultMetrics(result: ProbeResult): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'parley_probe_success',
    help: 'Whether the synthetic chat probe got the expected answer (1) or not (0)',
    registers,
  }).set(result.success ? 1 : 0);
  const latency = new Gauge({
    name: 'parley_probe_latency_seconds',
    help: 'The synthetic chat probe, by phase: session, connect, first_token, answer, total',
    labelNames: ['phase'] as const,
    registers,
  });
  for (const [key, phase] of Object.entries(PROBE_PHASES)) {
    const value = result.latencySeconds[key as keyof typeof PROBE_PHASES];
    if (value !== undefined) latency.set({ phase }, value);
  }
  new Gauge({
    name: 'parley_probe_last_run_timestamp_seconds',
    help: 'When the synthetic chat probe last ran (Unix time)',
    registers,
  }).set(Date.parse(result.at) / 1000);
  return registry;
}

/** Replaces the probe's group on a Prometheus Pushgateway (job `parley_probe`) with this run. */
export async function pushResult(
  url: string,
  result: ProbeResult,
  timeoutMs = 5_000,
): Promise<void> {
  await new Pushgateway(url, { timeout: timeoutMs }, resultMetrics(result)).push({
    jobName: 'parley_probe',
  });
}

/**
 * Tells the gateway's operators' API of the run (`POST /admin/probe-results`),
 * so the status page shows it and every gateway pod exports it. Only the
 * outcome, its code and the timings travel; not the answer or the detail.
 */
export async function reportResult(
  gatewayUrl: string,
  token: string,
  result: ProbeResult,
  { intervalSeconds, timeoutMs = 5_000 }: { intervalSeconds: number; timeoutMs?: number },
): Promise<void> {
  const res = await fetch(`${gatewayUrl.replace(/\/+$/, '')}/admin/probe-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      success: result.success,
      at: result.at,
      latencySeconds: result.latencySeconds,
      ...(result.error ? { error: result.error } : {}),
      intervalSeconds,
    }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`the gateway answered ${res.status}`);
}
