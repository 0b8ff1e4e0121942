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
  status: 'ready' | 'not_ready' | 'draining';
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
  private drainingSince: number | undefined;

  constructor(private readonly timeoutMs: number) {}

  /**
   * Registers a check under a unique name (`postgres-primary`, `kafka`).
   * An optional one (`critical: false`) is reported and monitored but does
   * not make the service unready: it only degrades it.
   */
  add(name: string, check: ReadinessCheck, { critical = true }: { critical?: boolean } = {}): void {
    if (this.checks.has(name)) throw new Error(`Readiness check "${name}" is already registered`);
    this.checks.set(name, check);
    if (!critical) this.optional.add(name);
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
    if (this.draining) return { status: 'draining', checks };
    const allUp = entries.every(([name, r]) => r.status === 'up' || this.optional.has(name));
    return { status: allUp ? 'ready' : 'not_ready', checks };
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
