import { EventRegistry, handoffAcceptedV1 } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import type { Handoff, HandoffStore, HitlSettingsStore } from '../store/index.js';
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
      hitlSettings: HitlSettingsStore;
      bus: EventBus;
      announcer: QueueAnnouncer;
      logger: Logger;
      /** Observed for every assignment announced, with how long the handoff waited. */
      onAssigned?: (waitSeconds: number) => void;
    },
  ) {}

  /**
   * Announces that `agent` now holds `handoff` (`handoff.accepted`), however
   * it got it: accepted, claimed by a reply, or dispatched. Never stuck: when
   * the announcement fails the visitor would not see the agent, so the
   * handoff goes back to the queue and false is returned.
   */
  async announceAccepted(handoff: Handoff, agent: { id: string; name: string }): Promise<boolean> {
    const { handoffs, bus, logger } = this.deps;
    try {
      await bus.publish(
        this.registry.create(handoffAcceptedV1, {
          conversationId: handoff.conversationId,
          tenantId: handoff.tenantId,
          payload: { handoff_id: handoff.id, agent_id: agent.id, agent_name: agent.name },
        }),
      );
    } catch (err) {
      await handoffs.requeue(handoff.tenantId, handoff.id);
      logger.error({ err, handoffId: handoff.id }, 'Assignment not announced: requeued');
      return false;
    }
    this.deps.onAssigned?.(
      (Date.parse(handoff.assignedAt ?? new Date().toISOString()) -
        Date.parse(handoff.requestedAt)) /
        1000,
    );
    return true;
  }

  /** Dispatches what it can for the tenant; returns how many handoffs were assigned. */
  async dispatch(tenantId: string): Promise<number> {
    const { handoffs, hitlSettings, announcer, logger } = this.deps;
    const strategy = await hitlSettings.strategy(tenantId);
    if (strategy === 'pooled') return 0;
    let assigned = 0;
    for (; assigned < 100; assigned++) {
      const next = await handoffs.dispatchNext(tenantId, strategy);
      if (!next) break;
      const { handoff, agent } = next;
      // Back in the queue on failure: the next sweep dispatches it again.
      if (!(await this.announceAccepted(handoff, agent))) break;
      logger.info({ handoffId: handoff.id, agentId: agent.id, strategy }, 'Handoff dispatched');
    }
    if (assigned > 0) await announcer.changed(tenantId);
    return assigned;
  }
}
