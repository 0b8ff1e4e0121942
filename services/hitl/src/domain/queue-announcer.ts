import { cacheKey, conversationChannel } from '@parley/contracts';
import type { Cache } from '@parley/ports';
import type { HandoffStore } from '../store/index.js';

/** The pub/sub channel agents' consoles of one tenant listen on. */
export function agentsChannel(tenantId: string): string {
  return cacheKey('hitl', tenantId);
}

/**
 * Tells everyone about a change of a tenant's queue: its agents' consoles
 * (refresh), and every waiting visitor their position and the estimated wait
 * (the median recent wait grows with the position; null until the tenant has
 * history). Best effort, like every live update.
 */
export class QueueAnnouncer {
  constructor(
    private readonly handoffs: HandoffStore,
    private readonly cache: Cache,
  ) {}

  async changed(tenantId: string): Promise<void> {
    await this.cache
      .publish(agentsChannel(tenantId), JSON.stringify({ kind: 'queue' }))
      .catch(() => undefined);
    const [queued, median] = await Promise.all([
      this.handoffs.queued(tenantId),
      this.handoffs.recentWaitSeconds(tenantId),
    ]);
    await Promise.all(
      queued.map((h) =>
        this.cache
          .publish(
            conversationChannel(tenantId, h.conversationId),
            JSON.stringify({
              kind: 'queue',
              position: h.position,
              estimatedWaitSeconds: median === null ? null : median * h.position,
            }),
          )
          .catch(() => undefined),
      ),
    );
  }
}
