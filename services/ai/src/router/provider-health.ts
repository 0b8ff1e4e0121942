import type { Cache } from '@parley/ports';

/** One provider's shared health. */
export interface HealthRecord {
  /** Until when it is skipped (ms since epoch); 0 when healthy. */
  unhealthyUntil: number;
  /** Consecutive successful probes since it was marked unhealthy. */
  probeSuccesses: number;
  /** Why it was marked (kind of the last failure). */
  reason?: string;
}

/** Options for {@link ProviderHealth}. */
export interface ProviderHealthOptions {
  /** How long a failed provider is skipped. @default 30000 */
  cooldownMs?: number;
  /** Consecutive probe successes that restore a provider early. @default 3 */
  probeSuccessesToRestore?: number;
  /** Key prefix (`buildProviders` adds the region). @default 'parley:ai:health' */
  prefix?: string;
  now?: () => number;
}

/**
 * Provider health shared by every AI replica through the cache (Redis): a
 * failure marks a provider unhealthy for a cooldown; probes that succeed
 * `probeSuccessesToRestore` times in a row restore it early, a failed probe
 * extends the cooldown. A broken cache reads as healthy (the call itself
 * will tell).
 */
export class ProviderHealth {
  private readonly opts: Required<ProviderHealthOptions>;

  constructor(
    private readonly cache: Cache,
    options: ProviderHealthOptions = {},
  ) {
    this.opts = {
      cooldownMs: 30_000,
      probeSuccessesToRestore: 3,
      prefix: 'parley:ai:health',
      now: () => Date.now(),
      ...options,
    };
  }

  async get(provider: string): Promise<HealthRecord> {
    const raw = await this.cache.get(this.key(provider)).catch(() => null);
    if (!raw) return { unhealthyUntil: 0, probeSuccesses: 0 };
    try {
      return JSON.parse(raw) as HealthRecord;
    } catch {
      return { unhealthyUntil: 0, probeSuccesses: 0 };
    }
  }

  async isHealthy(provider: string): Promise<boolean> {
    return (await this.get(provider)).unhealthyUntil <= this.opts.now();
  }

  /** Skips the provider for a cooldown (every replica sees it). */
  async markUnhealthy(provider: string, reason: string): Promise<void> {
    await this.put(provider, {
      unhealthyUntil: this.opts.now() + this.opts.cooldownMs,
      probeSuccesses: 0,
      reason,
    });
  }

  /** Records a probe result: enough successes in a row restore the provider; a failure extends the cooldown. */
  async recordProbe(provider: string, ok: boolean): Promise<HealthRecord> {
    const current = await this.get(provider);
    const next: HealthRecord = ok
      ? current.probeSuccesses + 1 >= this.opts.probeSuccessesToRestore
        ? { unhealthyUntil: 0, probeSuccesses: 0 }
        : { ...current, probeSuccesses: current.probeSuccesses + 1 }
      : {
          unhealthyUntil: this.opts.now() + this.opts.cooldownMs,
          probeSuccesses: 0,
          reason: 'probe failed',
        };
    await this.put(provider, next);
    return next;
  }

  /** Restores a provider at once (operators: `/admin/force-recovery`). */
  async restore(provider: string): Promise<void> {
    await this.cache.delete(this.key(provider)).catch(() => undefined);
  }

  /** True for the one replica that should probe `provider` in this interval. */
  async claimProbe(provider: string, holder: string, intervalMs: number): Promise<boolean> {
    return this.cache
      .setIfAbsent(`${this.opts.prefix}:probe:${provider}`, holder, Math.max(1, intervalMs - 100))
      .catch(() => false);
  }

  private async put(provider: string, record: HealthRecord): Promise<void> {
    const ttl = Math.max(record.unhealthyUntil - this.opts.now(), 0) + 10 * this.opts.cooldownMs;
    await this.cache.set(this.key(provider), JSON.stringify(record), ttl).catch(() => undefined);
  }

  private key(provider: string): string {
    return `${this.opts.prefix}:${provider}`;
  }
}
