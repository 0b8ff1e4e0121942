import { randomUUID } from 'node:crypto';
import {
  EventRegistry,
  callbackRequestedV1,
  conversationChannel,
  conversationEndedV1,
  handoffClosedV1,
  handoffRequestedV1,
  type CallbackRequestedV1,
  type Event,
  type HandoffRequestedV1,
  type LiveUpdate,
} from '@parley/contracts';
import type { ConversationStore } from '@parley/conversations';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Subscription } from '@parley/ports';
import type { AgentStore, CallbackStore, HandoffStore, HitlSettingsStore } from '../store/index.js';
import type { QueueAnnouncer } from '../domain/queue-announcer.js';
import type { Dispatcher } from '../domain/dispatcher.js';
import { queueFor } from '../domain/settings.js';

/** The hitl service's consumer group on `conversation-events`. */
export const HITL_GROUP = 'hitl';

/** Emergencies go first, then VIP customers, then the bot's failures, then the rest. */
function priority(payload: HandoffRequestedV1): number {
  if (payload.reason === 'emergency') return 100;
  if (payload.rule === 'vip') return 50;
  return ['bot_unavailable', 'degraded', 'low_confidence'].includes(payload.reason) ? 10 : 0;
}

/**
 * Queues each `handoff.requested` (once per event; a conversation has at most
 * one open handoff) in the queue of its skill (the tenant's routes, matched
 * on the message that triggered it) and language (the conversation's), and
 * announces the change to the tenant's consoles and waiting visitors.
 */
export function createHandoffWorker(deps: {
  bus: EventBus;
  cache: Cache;
  handoffs: HandoffStore;
  agents: AgentStore;
  callbacks: CallbackStore;
  hitlSettings: HitlSettingsStore;
  conversations: ConversationStore;
  announcer: QueueAnnouncer;
  dispatcher: Dispatcher;
  logger: Logger;
  groupId?: string;
}): Subscription {
  const registry = new EventRegistry([
    handoffRequestedV1,
    callbackRequestedV1,
    conversationEndedV1,
  ]);
  const outgoing = new EventRegistry([handoffClosedV1]);
  const live = (tenantId: string, conversationId: string, update: LiveUpdate) =>
    deps.cache
      .publish(conversationChannel(tenantId, conversationId), JSON.stringify(update))
      .catch(() => undefined);
  return deps.bus.subscribe({
    groupId: deps.groupId ?? HITL_GROUP,
    registry,
    fromBeginning: true,
    handler: async (raw) => {
      if (raw.type === callbackRequestedV1.type) {
        const event = raw as Event<CallbackRequestedV1>;
        const { callback, created } = await deps.callbacks.saveCallback({
          tenantId: event.tenant_id,
          id: `CB-${randomUUID().slice(0, 8).toUpperCase()}`,
          conversationId: event.conversation_id,
          contactKind: event.payload.contact_kind,
          contact: event.payload.contact,
          ...(event.payload.note ? { note: event.payload.note } : {}),
          eventId: event.event_id,
        });
        // Never the contact itself in the logs: it is personal data.
        if (created) deps.logger.info({ ticketId: callback.id }, 'Callback requested');
        await live(event.tenant_id, event.conversation_id, {
          kind: 'callback_saved',
          ticketId: callback.id,
        });
        await deps.announcer.changed(event.tenant_id);
        return;
      }
      if (raw.type === conversationEndedV1.type) {
        // The call hung up: its handoff ends with it, whether or not a callback was booked.
        const { tenant_id: tenantId, conversation_id: conversationId } = raw;
        const closed = await deps.handoffs.endConversation(tenantId, conversationId);
        if (!closed) return;
        deps.logger.info(
          { handoffId: closed.id, conversationId, held: closed.agentId !== null },
          'Handoff ended with its call',
        );
        await deps.bus.publish(
          outgoing.create(handoffClosedV1, {
            tenantId,
            conversationId,
            payload: {
              handoff_id: closed.id,
              ...(closed.agentId ? { agent_id: closed.agentId } : {}),
              outcome: closed.agentId ? 'resolved' : 'returned',
            },
          }),
        );
        await deps.announcer.changed(tenantId);
        return;
      }
      const event = raw as Event<HandoffRequestedV1>;
      const { tenant_id: tenantId, conversation_id: conversationId } = event;
      // Asked for as the caller hung up (the end came first on the conversation's partition).
      if (await deps.handoffs.ended(tenantId, conversationId)) {
        deps.logger.info({ conversationId }, 'Handoff for an ended call not queued');
        return;
      }
      const [conversation, settings, [trigger]] = await Promise.all([
        deps.conversations.conversation(tenantId, conversationId, 'primary'),
        deps.hitlSettings.settings(tenantId),
        deps.conversations.messagesAfter(
          tenantId,
          conversationId,
          event.payload.message_seq - 1,
          1,
          'primary',
        ),
      ]);
      const { handoff, created } = await deps.handoffs.enqueue({
        tenantId: event.tenant_id,
        id: randomUUID(),
        conversationId: event.conversation_id,
        reason: event.payload.reason,
        eventId: event.event_id,
        requestedAt: new Date(event.occurred_at),
        priority: priority(event.payload),
        queue: queueFor(settings, trigger?.text ?? ''),
        language: conversation?.language ?? null,
      });
      if (!created) return;
      deps.logger.info(
        {
          handoffId: handoff.id,
          conversationId: handoff.conversationId,
          reason: handoff.reason,
          queue: handoff.queue,
          language: handoff.language,
        },
        'Handoff queued',
      );
      await deps.announcer.changed(event.tenant_id);
      if ((await deps.dispatcher.dispatch(event.tenant_id)) > 0) return;
      // Nobody to take over now (no console connected, or a full outage): offer a callback.
      const fullOutage = event.payload.degradation_level === 'L5';
      if (fullOutage || (await deps.agents.agentsOnline(event.tenant_id)) === 0)
        await live(event.tenant_id, event.conversation_id, { kind: 'callback_offer' });
    },
  });
}
