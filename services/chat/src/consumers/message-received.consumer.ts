import {
  conversationChannel,
  replyRequestedV1,
  type Event,
  type EventRegistry,
  type LiveUpdate,
  type MessageReceivedV1,
} from '@parley/contracts';
import type { Appended } from '@parley/conversations';
import type { ChatDeps } from '../chat-worker.js';

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
  });
  const { conversation, message } = appended;
  if (appended.created) {
    deps.logger.debug({ conversationId: conversation.id, seq: message.seq }, 'Message stored');
    deps.metrics?.stored('user');
  }
  await remember(deps, appended);
  await publishLive(deps, event.tenant_id, event.conversation_id, { kind: 'message', message });

  if (conversation.handler !== 'bot') return;
  const answered = await deps.store.messagesAfter(
    event.tenant_id,
    event.conversation_id,
    message.seq,
    20,
    { after: appended.position },
  );
  if (answered.some((m) => m.clientMessageId === `reply:${message.seq}`)) return;
  const history = await deps.store.recentMessages(
    event.tenant_id,
    event.conversation_id,
    message.seq - 1,
    deps.historyTurns,
    { after: appended.position },
  );
  await deps.bus.publish(
    registry.create(replyRequestedV1, {
      conversationId: event.conversation_id,
      tenantId: event.tenant_id,
      payload: {
        message_seq: message.seq,
        message_id: message.messageId,
        text: message.text,
        history: history.map((m) => ({ role: m.role, text: m.text })),
        channel: payload.channel,
      },
    }),
  );
}

/** Writes the conversation's state through both cache levels; a cache failure is only logged. */
export async function remember(deps: ChatDeps, appended: Appended): Promise<void> {
  const { conversation, position } = appended;
  await deps.sessions
    .put(conversation.tenantId, conversation.id, {
      status: conversation.status,
      handler: conversation.handler,
      handoff: conversation.handoff,
      lastSeq: conversation.lastSeq,
      position,
    })
    .catch((err: unknown) => deps.logger.warn({ err }, 'Session state not cached'));
}

/** Best effort: a socket that misses it catches up from storage on resume. */
export async function publishLive(
  deps: ChatDeps,
  tenantId: string,
  conversationId: string,
  update: LiveUpdate,
): Promise<void> {
  await deps.cache
    .publish(conversationChannel(tenantId, conversationId), JSON.stringify(update))
    .catch((err: unknown) =>
      deps.logger.warn({ err, conversationId }, 'Live update not published'),
    );
}
