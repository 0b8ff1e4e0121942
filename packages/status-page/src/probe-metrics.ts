import { Gauge, type Registry } from 'prom-client';
import { PROBE_PHASES as PHASES } from '@parley/probe';
import { PROBE_COMPONENT, type ProbeView } from './domain/status-board.js';

/** The label every probe series carries (absent series until a run is reported, never a made-up 0). */
const LABEL = { component: PROBE_COMPONENT } as const;

/**
 * The synthetic probe's last run as every gateway pod knows it (from the
 * status board, so each pod exports the same values: read them with `max`):
 * `parley_probe_success`, `parley_probe_latency_seconds{phase}` and
 * `parley_probe_last_run_timestamp_seconds`, each labelled
 * `component="synthetic-chat"`. Absent until a run is reported.
 */
export function registerProbeMetrics(registry: Registry, latest: () => ProbeView | null): void {
  const registers = [registry];
  new Gauge({
    name: 'parley_probe_success',
    help: 'Whether the last synthetic chat probe got the expected answer (1) or not (0)',
    labelNames: ['component'] as const,
    registers,
    collect() {
      this.reset();
      const probe = latest();
      if (probe) this.set(LABEL, probe.success ? 1 : 0);
    },
  });
  new Gauge({
    name: 'parley_probe_latency_seconds',
    help: 'The last synthetic chat probe, by phase: session, connect, first_token, answer, total',
    labelNames: ['component', 'phase'] as const,
    registers,
    collect() {
      this.reset();
      const probe = latest();
      if (!probe) return;
      for (const [key, phase] of Object.entries(PHASES)) {
        const seconds = probe.latencySeconds[key as keyof typeof PHASES];
        if (seconds !== undefined) this.set({ ...LABEL, phase }, seconds);
      }
    },
  });
  new Gauge({
    name: 'parley_probe_last_run_timestamp_seconds',
    help: 'When the last synthetic chat probe run finished (Unix time)',
    labelNames: ['component'] as const,
    registers,
    collect() {
      this.reset();
      const probe = latest();
      if (probe) this.set(LABEL, Date.parse(probe.at) / 1000);
    },
  });
}
