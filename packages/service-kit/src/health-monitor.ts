import type { Readiness, ReadinessReport } from './readiness.js';

/** One check of one dependency. */
export interface HealthSample {
  at: string;
  status: 'up' | 'down';
  latencyMs: number;
}

/** What the monitor knows of one dependency. */
export interface DependencyHealth {
  status: 'up' | 'down';
  critical: boolean;
  /** When it last changed status (or was first seen). */
  since: string;
  /** Share of the kept samples that were up, 0 to 1. */
  availability: number;
  /** Outages seen and recovered from. */
  recoveries: number;
  /** Mean time to recovery over them, in seconds; null before the first recovery. */
  mttrSeconds: number | null;
  /** How long the current outage has lasted, in seconds; null while up. */
  downForSeconds: number | null;
  samples: HealthSample[];
}

/**
 * The design's health states
 * (docs/design/README.md#004-chatbot-resilience-layers): `healthy`
 * (everything up), `degraded` (only optional dependencies down), `critical`
 * (an essential one down).
 */
export type HealthState = 'healthy' | 'degraded' | 'critical';

export interface HealthSummary {
  state: HealthState;
  checkedAt: string | null;
  dependencies: Record<string, DependencyHealth>;
}

export interface HealthMonitorOptions {
  /** How often the checks run: every 30 s, as in the design's health monitor. */
  intervalMs?: number;
  /** Results kept per dependency: the last 100, as in the design's health monitor. */
  keep?: number;
  now?: () => number;
}

interface Track {
  samples: Array<{ at: number; status: 'up' | 'down'; latencyMs: number }>;
  status: 'up' | 'down';
  since: number;
  recoveries: number[];
}

/**
 * Runs the service's dependency checks on a timer (and records every
 * `/readyz` report too), keeping the last results per dependency, each
 * dependency's availability and mean time to recovery, and the service's
 * overall state.
 */
export class HealthMonitor {
  private readonly tracks = new Map<string, Track>();
  private readonly intervalMs: number;
  private readonly keep: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private checkedAt: number | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly readiness: Readiness,
    options: HealthMonitorOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 30_000;
    this.keep = options.keep ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** Checks now, then every interval, until {@link stop}. */
  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs every check once and records the results. */
  async check(): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    this.record(report);
    return report;
  }

  /** Records a report (the timer's, or one `/readyz` made). */
  record(report: ReadinessReport): void {
    const at = this.now();
    this.checkedAt = at;
    for (const [name, result] of Object.entries(report.checks)) {
      let track = this.tracks.get(name);
      if (!track) {
        track = { samples: [], status: result.status, since: at, recoveries: [] };
        this.tracks.set(name, track);
      }
      if (track.status !== result.status) {
        if (result.status === 'up') {
          track.recoveries.push(at - track.since);
          if (track.recoveries.length > this.keep) track.recoveries.shift();
        }
        track.status = result.status;
        track.since = at;
      }
      track.samples.push({ at, status: result.status, latencyMs: result.latencyMs });
      if (track.samples.length > this.keep) track.samples.shift();
    }
    for (const listener of this.listeners) listener();
  }

  /**
   * Calls `listener` after every recorded report (the timer's and `/readyz`'s);
   * returns a function that removes it. A listener must not throw.
   */
  onRecord(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How often the timer checks, in milliseconds. */
  get checkIntervalMs(): number {
    return this.intervalMs;
  }

  /** The state and each dependency's figures; `samples: false` leaves out the kept results (the metrics need none). */
  summary({ samples = true }: { samples?: boolean } = {}): HealthSummary {
    const now = this.now();
    const dependencies: Record<string, DependencyHealth> = {};
    let state: HealthState = 'healthy';
    for (const [name, t] of this.tracks) {
      const critical = this.readiness.isCritical(name);
      if (t.status === 'down')
        state = critical ? 'critical' : state === 'critical' ? state : 'degraded';
      const up = t.samples.filter((s) => s.status === 'up').length;
      dependencies[name] = {
        status: t.status,
        critical,
        since: new Date(t.since).toISOString(),
        availability: t.samples.length ? up / t.samples.length : 1,
        recoveries: t.recoveries.length,
        mttrSeconds: t.recoveries.length
          ? t.recoveries.reduce((a, b) => a + b, 0) / t.recoveries.length / 1000
          : null,
        downForSeconds: t.status === 'down' ? (now - t.since) / 1000 : null,
        samples: samples
          ? t.samples.map((s) => ({
              at: new Date(s.at).toISOString(),
              status: s.status,
              latencyMs: s.latencyMs,
            }))
          : [],
      };
    }
    return {
      state,
      checkedAt: this.checkedAt === undefined ? null : new Date(this.checkedAt).toISOString(),
      dependencies,
    };
  }
}
