import { randomUUID } from 'node:crypto';
import {
  EventRegistry,
  handoffRequestedV1,
  type Event,
  type HandoffRequestedV1,
} from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Subscription } from '@parley/ports';
import type { HandoffStore } from '../domain/handoff-store.js';

/** The hitl service's consumer group on `conversation-events`. */
export const HITL_GROUP = 'hitl';

/** The pub/sub channel agents' consoles of one tenant listen on. */
export function agentsChannel(tenantId: string): string {
  return `parley:hitl:${tenantId}`;
}

/** Emergencies go first, then the bot's failures, then the rest. */
const PRIORITY: Record<HandoffRequestedV1['reason'], number> = {
  emergency: 100,
  bot_unavailable: 10,
  degraded: 10,
  user_request: 0,
};

/**
 * Queues each `handoff.requested` (once per event; a conversation has at most
 * one open handoff) and tells the tenant's consoles that the queue changed.
 */
export function createHandoffWorker(deps: {
  bus: EventBus;
  cache: Cache;
  handoffs: HandoffStore;
  logger: Logger;
  groupId?: string;
}): Subscription {
  const registry = new EventRegistry([handoffRequestedV1]);
  return deps.bus.subscribe({
    groupId: deps.groupId ?? HITL_GROUP,
    registry,
    fromBeginning: true,
    handler: async (raw) => {
      const event = raw as Event<HandoffRequestedV1>;
      const { handoff, created } = await deps.handoffs.enqueue({
        tenantId: event.tenant_id,
        id: randomUUID(),
        conversationId: event.conversation_id,
        reason: event.payload.reason,
        eventId: event.event_id,
        requestedAt: new Date(event.occurred_at),
        priority: PRIORITY[event.payload.reason],
      });
      if (!created) return;
      deps.logger.info(
        { handoffId: handoff.id, conversationId: handoff.conversationId, reason: handoff.reason },
        'Handoff queued',
      );
      await deps.cache
        .publish(agentsChannel(event.tenant_id), JSON.stringify({ kind: 'queue' }))
        .catch(() => undefined);
    },
  });
}
