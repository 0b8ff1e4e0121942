import type { HealthState, StatusReport } from '@parley/service-kit';

/** A component as the status page shows it. */
export type ComponentState = 'operational' | 'degraded' | 'outage' | 'no_data';

/** The page's headline. */
export type OverallState = 'operational' | 'degraded' | 'partial_outage' | 'major_outage';

/** The component the synthetic probe's results show as. */
export const PROBE_COMPONENT = 'synthetic-chat';

/** One run of the synthetic chat probe (`parley-probe`), as the gateway received it. */
export interface ProbeResult {
  success: boolean;
  /** When the run finished (ISO 8601). */
  at: string;
  /** Seconds per phase: session, connect, firstToken, answer (from sending), total. */
  latencySeconds: Partial<Record<'session' | 'connect' | 'firstToken' | 'answer', number>> & {
    total: number;
  };
  /** What failed, as a code (`PROBE_ERR_ANSWER_MISMATCH`); absent on success. */
  error?: string;
}

/** A report on the board: a process's health, or a probe run. */
export type BoardReport = StatusReport & { probe?: ProbeResult };

/** A report and when this board received it (ms since the epoch, this board's clock). */
export interface BoardEntry {
  report: BoardReport;
  receivedAt: number;
}

/** A component's row. */
export interface ComponentView {
  id: string;
  state: ComponentState;
  /** Last-known state shown while reports cannot arrive (the cache is unreachable). */
  stale: boolean;
  /** Processes with a fresh report. */
  instances: number;
}

/** The probe's last run, for the page and the metrics. */
export interface ProbeView {
  success: boolean;
  at: string;
  latencySeconds: ProbeResult['latencySeconds'];
  fresh: boolean;
}

/** What the board shows now. */
export interface BoardView {
  /** True while reports cannot arrive: some rows show their last-known state. */
  stale: boolean;
  overall: OverallState;
  /** The worst fresh AI instance's degradation level (`L0`..`L5`); null when none reports. */
  level: string | null;
  components: ComponentView[];
  probe: ProbeView | null;
}

/** Options for {@link StatusBoard}. */
export interface StatusBoardOptions {
  /** The components shown, in order (the probe's row is added once it reports). */
  components: readonly string[];
  /** How long an entry is kept after it was received (last-known state while the feed is down). @default 86400000 */
  retainMs?: number;
  /** Most entries kept; the oldest go first. @default 2000 */
  maxEntries?: number;
  now?: () => number;
}

const SEVERITY: Record<HealthState, number> = { healthy: 0, degraded: 1, critical: 2 };
const AS_COMPONENT: Record<HealthState, ComponentState> = {
  healthy: 'operational',
  degraded: 'degraded',
  critical: 'outage',
};
const LEVEL = /^L([0-5])$/;

/**
 * The region's status board: the latest report of every process (by service
 * and instance), each fresh for its own TTL after it arrived. A component's
 * state is its best fresh instance's (one healthy pod serves); a component
 * with no fresh report has no data, unless the feed is down, when its
 * last-known state is shown marked stale. The level is the worst fresh AI
 * instance's.
 */
export class StatusBoard {
  private readonly entries = new Map<string, BoardEntry>();
  private readonly retainMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: StatusBoardOptions) {
    this.retainMs = options.retainMs ?? 86_400_000;
    this.maxEntries = options.maxEntries ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes a report; an older report (by its `at`) than the one kept for the same process is ignored. */
  ingest(report: BoardReport, receivedAt = this.now()): void {
    const key = `${report.service}/${report.instance}`;
    const kept = this.entries.get(key);
    if (kept && Date.parse(kept.report.at) > Date.parse(report.at)) return;
    this.entries.delete(key);
    this.entries.set(key, { report, receivedAt });
    this.prune();
  }

  /** Every kept entry (for a snapshot other gateways start from). */
  snapshot(): BoardEntry[] {
    this.prune();
    return [...this.entries.values()];
  }

  /** Takes a snapshot's entries, keeping whichever is newer per process. */
  restore(entries: readonly BoardEntry[]): void {
    for (const e of entries) this.ingest(e.report, e.receivedAt);
  }

  /** The view now; `feedUp: false` shows last-known states for rows without fresh reports. */
  view({ feedUp }: { feedUp: boolean }): BoardView {
    this.prune();
    const now = this.now();
    const all = [...this.entries.values()];
    const fresh = (e: BoardEntry) => now - e.receivedAt <= e.report.ttlMs;
    let stale = false;

    const ids = [...this.options.components];
    const probeEntries = all.filter((e) => e.report.probe);
    if (probeEntries.length && !ids.includes(PROBE_COMPONENT)) ids.push(PROBE_COMPONENT);

    const components = ids.map((id): ComponentView => {
      const mine = all.filter((e) => e.report.components.includes(id));
      const live = mine.filter(fresh);
      if (live.length) return { id, state: best(live), stale: false, instances: live.length };
      if (!feedUp && mine.length) {
        stale = true;
        return { id, state: best(lastGeneration(mine)), stale: true, instances: 0 };
      }
      return { id, state: 'no_data', stale: false, instances: 0 };
    });

    const levelEntries = all.filter(
      (e) => e.report.degradation && LEVEL.test(e.report.degradation.level),
    );
    const liveLevels = levelEntries.filter(fresh);
    let level: string | null = null;
    if (liveLevels.length) level = worstLevel(liveLevels);
    else if (!feedUp && levelEntries.length) {
      stale = true;
      level = worstLevel(lastGeneration(levelEntries));
    }

    const latestProbe = probeEntries.reduce<BoardEntry | undefined>(
      (a, e) => (!a || Date.parse(e.report.probe!.at) > Date.parse(a.report.probe!.at) ? e : a),
      undefined,
    );
    const probe: ProbeView | null = latestProbe
      ? {
          success: latestProbe.report.probe!.success,
          at: latestProbe.report.probe!.at,
          latencySeconds: latestProbe.report.probe!.latencySeconds,
          fresh: fresh(latestProbe),
        }
      : null;

    return { stale, overall: overall(components, level), level, components, probe };
  }

  private prune(): void {
    const oldest = this.now() - this.retainMs;
    for (const [key, e] of this.entries) if (e.receivedAt < oldest) this.entries.delete(key);
    // Entries are kept in arrival order (ingest re-inserts): the first ones are the oldest.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

/** A component's state from its instances' reports: the best one's (a probe's: its last run). */
function best(entries: readonly BoardEntry[]): ComponentState {
  const states = entries.map((e): HealthState =>
    e.report.probe ? (e.report.probe.success ? 'healthy' : 'critical') : e.report.state,
  );
  return AS_COMPONENT[states.reduce((a, s) => (SEVERITY[s] < SEVERITY[a] ? s : a))];
}

/** The reports of the last moment reports still came in: those within one TTL of the newest. */
function lastGeneration(entries: readonly BoardEntry[]): BoardEntry[] {
  const newest = entries.reduce((a, e) => (e.receivedAt > a.receivedAt ? e : a));
  return entries.filter((e) => e.receivedAt >= newest.receivedAt - newest.report.ttlMs);
}

function worstLevel(entries: readonly BoardEntry[]): string {
  const n = Math.max(...entries.map((e) => Number(LEVEL.exec(e.report.degradation!.level)![1])));
  return `L${n}`;
}

function overall(components: readonly ComponentView[], level: string | null): OverallState {
  const down = components.filter((c) => c.state === 'outage' || c.state === 'no_data').length;
  if (components.length && down === components.length) return 'major_outage';
  if (level === 'L5') return 'major_outage';
  if (down > 0 || level === 'L4') return 'partial_outage';
  if (components.some((c) => c.state === 'degraded') || (level !== null && level !== 'L0'))
    return 'degraded';
  return 'operational';
}
