import { EventRegistry, handoffAcceptedV1 } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import type { HandoffStore } from './handoff-store.js';
import type { QueueAnnouncer } from './queue-announcer.js';

/**
 * Capacity-aware dispatch for tenants that do not run a pooled queue: while
 * a present agent has free capacity, the next waiting handoff (priority,
 * then oldest) goes to the agent the tenant's strategy picks, exactly as if
 * the agent had accepted it (`handoff.accepted`). Run whenever capacity or
 * the queue changes: a handoff queued, one closed or transferred, an agent's
 * console connected, and on every timer sweep.
 */
export class Dispatcher {
  private readonly registry = new EventRegistry([handoffAcceptedV1]);

  constructor(
    private readonly deps: {
      handoffs: HandoffStore;
      bus: EventBus;
      announcer: QueueAnnouncer;
      logger: Logger;
      onAssigned?: (waitSeconds: number) => void;
    },
  ) {}

  /** Dispatches what it can for the tenant; returns how many handoffs were assigned. */
  async dispatch(tenantId: string): Promise<number> {
    const { handoffs, bus, announcer, logger } = this.deps;
    const strategy = await handoffs.strategy(tenantId);
    if (strategy === 'pooled') return 0;
    let assigned = 0;
    for (; assigned < 100; assigned++) {
      const next = await handoffs.dispatchNext(tenantId, strategy);
      if (!next) break;
      const { handoff, agent } = next;
      this.deps.onAssigned?.(
        (Date.parse(handoff.assignedAt ?? new Date().toISOString()) -
          Date.parse(handoff.requestedAt)) /
          1000,
      );
      try {
        await bus.publish(
          this.registry.create(handoffAcceptedV1, {
            conversationId: handoff.conversationId,
            tenantId,
            payload: { handoff_id: handoff.id, agent_id: agent.id, agent_name: agent.name },
          }),
        );
      } catch (err) {
        // Never stuck: back in the queue; the next sweep dispatches it again.
        await handoffs.requeue(tenantId, handoff.id);
        logger.error({ err, handoffId: handoff.id }, 'Dispatch not announced: requeued');
        break;
      }
      logger.info({ handoffId: handoff.id, agentId: agent.id, strategy }, 'Handoff dispatched');
    }
    if (assigned > 0) await announcer.changed(tenantId);
    return assigned;
  }
}
