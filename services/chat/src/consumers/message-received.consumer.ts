import {
  replyRequestedV1,
  type Event,
  type EventRegistry,
  type MessageReceivedV1,
  type StoredMessage,
} from '@parley/contracts';
import type { Conversation } from '@parley/conversations';
import type { WritePosition } from '@parley/ports';
import type { ChatDeps } from '../deps.js';
import { publishLive, remember } from './live.js';

/**
 * Stores an end user's message, tells the sockets, and asks the AI service for
 * a reply while the bot holds the conversation. On redelivery the message is
 * not stored again, but the reply is requested again if none is stored yet
 * (the process may have died between the two), and the AI's duplicate answer
 * is dropped by the store.
 */
export async function onMessageReceived(
  deps: ChatDeps,
  registry: EventRegistry,
  event: Event<MessageReceivedV1>,
): Promise<void> {
  const { payload } = event;
  const appended = await deps.store.appendMessage({
    tenantId: event.tenant_id,
    conversationId: event.conversation_id,
    visitorId: payload.visitor_id,
    channel: payload.channel,
    role: 'user',
    messageId: payload.message_id,
    clientMessageId: payload.client_message_id,
    eventId: event.event_id,
    text: payload.text,
    receivedAt: new Date(event.occurred_at),
    ...(payload.language ? { language: payload.language } : {}),
    ...(payload.customer_id ? { customerId: payload.customer_id } : {}),
    ...(deps.region ? { region: deps.region } : {}),
    history: deps.historyTurns,
  });
  const { conversation, message } = appended;
  deps.metrics?.active?.(event.tenant_id, event.conversation_id);
  if (appended.created) {
    deps.logger.debug({ conversationId: conversation.id, seq: message.seq }, 'Message stored');
    deps.metrics?.stored('user');
  }
  // Both best effort, and the live update carries the message itself: sent
  // together (one Redis pipeline), the state no later than the update on one node.
  await Promise.all([
    remember(deps, appended),
    publishLive(deps, event.tenant_id, event.conversation_id, { kind: 'message', message }),
  ]);

  if (conversation.handler !== 'bot') return;
  // Stored just now, as the newest: no answer can exist yet, and the turns before it came with it.
  const fresh =
    appended.created && appended.history && conversation.lastSeq === message.seq
      ? appended.history
      : undefined;
  await requestReply(deps, registry, conversation, message, appended.position, fresh);
}

/**
 * Asks the AI service to answer a stored user message, unless its answer is
 * already stored. Also used by the embedded mode's recovery after a restart.
 */
export async function requestReply(
  deps: ChatDeps,
  registry: EventRegistry,
  conversation: Pick<Conversation, 'tenantId' | 'id' | 'channel' | 'customerId'>,
  message: StoredMessage,
  position: WritePosition,
  /** The turns before it, when it was stored just now (so nothing answers it yet). */
  fresh?: StoredMessage[],
): Promise<void> {
  const { tenantId, id: conversationId } = conversation;
  if (!fresh) {
    const answered = await deps.store.messagesAfter(tenantId, conversationId, message.seq, 20, {
      after: position,
    });
    if (answered.some((m) => m.clientMessageId === `reply:${message.seq}`)) return;
  }
  const history =
    fresh ??
    (await deps.store.recentMessages(tenantId, conversationId, message.seq - 1, deps.historyTurns, {
      after: position,
    }));
  const tenant = await deps.replySettings(tenantId);
  // The VIP list stays here: the AI service is told only whether this customer is on it.
  const { vip_customers: vips, ...ai } = tenant.ai;
  const vip =
    conversation.customerId !== null && (vips?.includes(conversation.customerId) ?? false);
  await deps.bus.publish(
    registry.create(replyRequestedV1, {
      conversationId,
      tenantId,
      payload: {
        message_seq: message.seq,
        message_id: message.messageId,
        text: message.text,
        history: history.map((m) => ({ role: m.role, text: m.text })),
        channel: conversation.channel,
        ...(tenant.emergencyContact ? { emergency_contact: tenant.emergencyContact } : {}),
        ...(Object.keys(ai).length ? { ai_settings: ai } : {}),
        ...(vip ? { customer_vip: true } : {}),
      },
    }),
  );
}
