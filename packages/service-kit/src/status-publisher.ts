import { hostname } from 'node:os';
import type { Cache } from '@parley/ports';
import type { HealthMonitor, HealthState } from './health-monitor.js';

/** One dependency as a status report carries it (no samples, no error texts). */
export interface ReportedDependency {
  up: boolean;
  critical: boolean;
  /** Share of the kept checks that passed, 0 to 1. */
  availability: number;
  mttrSeconds: number | null;
}

/** The AI's degradation level (L0..L5) and why, as the AI service reports it. */
export interface ReportedDegradation {
  level: string;
  reasons: string[];
}

/**
 * One process's entry on the status board: its health monitor's state and
 * figures, for the components it runs, fresh for `ttlMs` after it arrives.
 */
export interface StatusReport {
  v: 1;
  /** The reporting process's service (`gateway`, `ai`; `parley` for the one-process platform). */
  service: string;
  /** Which process (`<host>:<pid>`: the pod's name in Kubernetes). Never shown publicly. */
  instance: string;
  /** The components this process serves (a service runs one; the embedded platform all). */
  components: string[];
  state: HealthState;
  /** When the report was made (ISO 8601). */
  at: string;
  /** How long the board counts it as fresh after receiving it. */
  ttlMs: number;
  dependencies: Record<string, ReportedDependency>;
  degradation?: ReportedDegradation;
}

/** The Redis (or in-process) channel a region's status reports travel on. */
export function statusChannel(region: string): string {
  return `parley:status:${region}`;
}

/** Options for {@link StatusPublisher.attach}. */
export interface StatusAttachOptions {
  /** The region's board this process reports to. */
  region: string;
  /** @default `<hostname>:<pid>` */
  instance?: string;
  /** The components this process serves. @default [the service] */
  components?: readonly string[];
  /** How long a report stays fresh. @default 3 × the monitor's check interval */
  ttlMs?: number;
  /** Least time between two reports that say the same. @default a third of the monitor's check interval */
  minIntervalMs?: number;
}

/** How a report went: published on the channel, publishing failed, or made locally only (not attached). */
export type ReportOutcome = 'published' | 'failed' | 'local';

interface Target {
  cache: Cache;
  channel: string;
  instance: string;
  components: string[];
  ttlMs: number;
  minIntervalMs: number;
}

/**
 * Publishes the process's health-monitor summary on its region's status
 * board (the cache's pub/sub: Redis, or the in-process cache when embedded)
 * after the monitor's checks: at once when something changed (the state, a
 * dependency, the degradation level), otherwise at most every
 * `minIntervalMs`. Every report also goes to local listeners, so a process
 * keeps its own entry when the cache is unreachable.
 */
export class StatusPublisher {
  private target: Target | undefined;
  private degradation: ReportedDegradation | undefined;
  private lastSignature = '';
  private lastPublishedAt = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<(report: StatusReport, outcome: ReportOutcome) => void>();
  private readonly stopRecording: () => void;

  constructor(
    private readonly health: HealthMonitor,
    private readonly service: string,
    private readonly now: () => number = Date.now,
  ) {
    this.stopRecording = health.onRecord(() => void this.publish());
  }

  /** Starts publishing to the region's board through `cache`. Throws when already attached. */
  attach(cache: Cache, options: StatusAttachOptions): void {
    if (this.target) throw new Error('The status publisher is already attached');
    const interval = this.health.checkIntervalMs;
    this.target = {
      cache,
      channel: statusChannel(options.region),
      instance: options.instance ?? `${hostname()}:${process.pid}`,
      components: [...(options.components ?? [this.service])],
      ttlMs: options.ttlMs ?? 3 * interval,
      minIntervalMs: options.minIntervalMs ?? Math.round(interval / 3),
    };
    this.lastSignature = '';
  }

  /** The channel and cache it publishes through; undefined until attached. */
  get attached(): { cache: Cache; channel: string } | undefined {
    return this.target && { cache: this.target.cache, channel: this.target.channel };
  }

  /** Stops publishing (the process is closing); local listeners are kept. */
  detach(): void {
    this.target = undefined;
  }

  /** Sets the degradation level this process reports (the AI service, on every assessment); a new level is published at once. */
  setDegradation(degradation: ReportedDegradation): void {
    this.degradation = { level: degradation.level, reasons: [...degradation.reasons] };
    void this.publish();
  }

  /** Calls `listener` with every report made, and how it went; returns a function that removes it. */
  onReport(listener: (report: StatusReport, outcome: ReportOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The report as of now. */
  report(): StatusReport {
    const summary = this.health.summary({ samples: false });
    const dependencies: Record<string, ReportedDependency> = {};
    for (const [name, d] of Object.entries(summary.dependencies))
      dependencies[name] = {
        up: d.status === 'up',
        critical: d.critical,
        availability: d.availability,
        mttrSeconds: d.mttrSeconds,
      };
    const interval = this.health.checkIntervalMs;
    return {
      v: 1,
      service: this.service,
      instance: this.target?.instance ?? `${hostname()}:${process.pid}`,
      components: this.target?.components ?? [this.service],
      state: summary.state,
      at: new Date(this.now()).toISOString(),
      ttlMs: this.target?.ttlMs ?? 3 * interval,
      dependencies,
      ...(this.degradation ? { degradation: this.degradation } : {}),
    };
  }

  /**
   * Makes a report and publishes it when it says something new or the last
   * one is `minIntervalMs` old (`force`: always). Never throws.
   */
  async publish({ force = false }: { force?: boolean } = {}): Promise<ReportOutcome | 'skipped'> {
    const report = this.report();
    const signature = JSON.stringify([
      report.state,
      Object.entries(report.dependencies).map(([name, d]) => [name, d.up]),
      report.degradation?.level,
    ]);
    const minIntervalMs = this.target?.minIntervalMs ?? Math.round(this.health.checkIntervalMs / 3);
    const now = this.now();
    if (!force && signature === this.lastSignature && now - this.lastPublishedAt < minIntervalMs)
      return 'skipped';
    this.lastSignature = signature;
    this.lastPublishedAt = now;
    const target = this.target;
    let outcome: ReportOutcome = 'local';
    if (target) {
      outcome = await target.cache.publish(target.channel, JSON.stringify(report)).then(
        () => 'published' as const,
        () => 'failed' as const,
      );
      // A failed publish is tried again after the next check, not only after minIntervalMs.
      if (outcome === 'failed') this.lastSignature = '';
    }
    for (const listener of this.listeners) listener(report, outcome);
    return outcome;
  }

  /** Stops following the monitor (tests; the app's lifetime otherwise). */
  close(): void {
    this.stopRecording();
    this.listeners.clear();
    this.target = undefined;
  }
}
