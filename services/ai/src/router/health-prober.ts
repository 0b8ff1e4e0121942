import type { ReplyProvider } from '../domain/provider.js';
import type { ProviderHealth } from './provider-health.js';

/** Options for {@link HealthProber}. */
export interface HealthProberOptions {
  providers: ReplyProvider[];
  health: ProviderHealth;
  /** This replica's name: one replica per region probes each interval. */
  holder: string;
  /** @default 10000 */
  intervalMs?: number;
  /** A probe slower than this failed. @default 5000 */
  probeTimeoutMs?: number;
}

/**
 * Probes unhealthy providers every interval with a tiny request, from one
 * replica per region (a lock in the shared cache), and records the results in
 * the shared health, which restores a provider after enough successes.
 */
export class HealthProber {
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;

  constructor(private readonly options: HealthProberOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.probeOnce().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Probes every unhealthy provider this replica wins the lock for; returns which it probed. */
  async probeOnce(): Promise<string[]> {
    const probed: string[] = [];
    for (const provider of this.options.providers) {
      const { health } = this.options;
      if (await health.isHealthy(provider.name)) continue;
      if (!(await health.claimProbe(provider.name, this.options.holder, this.intervalMs))) continue;
      probed.push(provider.name);
      const ok = await provider
        .reply({
          tenantId: 'parley-probe',
          conversationId: 'probe',
          text: 'ping',
          history: [],
          signal: AbortSignal.timeout(this.probeTimeoutMs),
        })
        .then(
          () => true,
          () => false,
        );
      await health.recordProbe(provider.name, ok);
    }
    return probed;
  }
}
