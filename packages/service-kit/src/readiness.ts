/** A dependency check: resolves (optionally with details) when reachable, throws when not. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<Record<string, unknown> | void>;

/** The outcome of one check as `/readyz` reports it. */
export interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  details?: Record<string, unknown>;
  error?: string;
}

/** The body of `/readyz`. */
export interface ReadinessReport {
  /** Whether this pod takes traffic (the HTTP status follows it: 200 or 503). */
  status: 'ready' | 'not_ready' | 'draining';
  /**
   * What the dependencies allow: `critical` when an essential one is down
   * (also a shared one, which leaves the pod ready), `degraded` when only
   * optional ones are, else `healthy`. Region failover watches this.
   */
  state: 'healthy' | 'degraded' | 'critical';
  checks: Record<string, CheckResult>;
}

/**
 * The checks `/readyz` runs. Adapter plugins add one per dependency; the
 * service turns it to draining when shutdown starts so that the load balancer
 * stops sending traffic before connections close.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly optional = new Set<string>();
  private readonly shared = new Set<string>();
  private drainingSince: number | undefined;

  constructor(private readonly timeoutMs: number) {}

  /**
   * Registers a check under a unique name (`postgres`, `kafka`). An optional
   * one (`critical: false`) is reported and monitored but does not make the
   * service unready: it only degrades it. A `shared` one is a dependency
   * every pod of the region reaches (Postgres, Kafka, Redis): its outage is
   * reported, and counts as critical in the health state and on the status
   * page, but does not make the pod unready either. Taking pods out of their
   * Service for it would take out all of them at once, and the clients would
   * get the ingress's own 503 instead of Parley's degraded answers.
   */
  add(
    name: string,
    check: ReadinessCheck,
    { critical = true, shared = false }: { critical?: boolean; shared?: boolean } = {},
  ): void {
    if (this.checks.has(name)) throw new Error(`Readiness check "${name}" is already registered`);
    this.checks.set(name, check);
    if (!critical) this.optional.add(name);
    if (shared) this.shared.add(name);
  }

  /** Whether the service cannot work without this dependency. */
  isCritical(name: string): boolean {
    return !this.optional.has(name);
  }

  /** From now on `/readyz` answers 503 `draining`. */
  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Runs every check in parallel, each bounded by the timeout. */
  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await this.run(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const down = entries.filter(([, r]) => r.status !== 'up').map(([name]) => name);
    const state = down.some((name) => !this.optional.has(name))
      ? 'critical'
      : down.length > 0
        ? 'degraded'
        : 'healthy';
    if (this.draining) return { status: 'draining', state, checks };
    const gating = down.filter((name) => !this.optional.has(name) && !this.shared.has(name));
    return { status: gating.length === 0 ? 'ready' : 'not_ready', state, checks };
  }

  private async run(check: ReadinessCheck): Promise<CheckResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.timeoutMs);
    const latencyMs = () => Math.round(performance.now() - started);
    try {
      const details = await Promise.race([
        check(signal),
        new Promise<never>((_, reject) =>
          signal.addEventListener(
            'abort',
            () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
            {
              once: true,
            },
          ),
        ),
      ]);
      return { status: 'up', latencyMs: latencyMs(), ...(details ? { details } : {}) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const message = err instanceof Error ? err.message : String(err);
      return {
        status: 'down',
        latencyMs: latencyMs(),
        error: code ? `${String(code)}: ${message}` : message,
      };
    }
  }
}
