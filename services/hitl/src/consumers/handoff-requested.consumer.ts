import { randomUUID } from 'node:crypto';
import {
  EventRegistry,
  handoffRequestedV1,
  type Event,
  type HandoffRequestedV1,
} from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { EventBus, Subscription } from '@parley/ports';
import type { HandoffStore } from '../domain/handoff-store.js';
import type { QueueAnnouncer } from '../domain/queue-announcer.js';

/** The hitl service's consumer group on `conversation-events`. */
export const HITL_GROUP = 'hitl';

/** Emergencies go first, then the bot's failures, then the rest. */
const PRIORITY: Record<HandoffRequestedV1['reason'], number> = {
  emergency: 100,
  bot_unavailable: 10,
  degraded: 10,
  user_request: 0,
};

/**
 * Queues each `handoff.requested` (once per event; a conversation has at most
 * one open handoff) and announces the change to the tenant's consoles and
 * waiting visitors.
 */
export function createHandoffWorker(deps: {
  bus: EventBus;
  handoffs: HandoffStore;
  announcer: QueueAnnouncer;
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
      await deps.announcer.changed(event.tenant_id);
    },
  });
}
