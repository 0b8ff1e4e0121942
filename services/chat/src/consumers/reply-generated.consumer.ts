import type { Event, ReplyGeneratedV1 } from '@parley/contracts';
import { isStoreError, type Appended } from '@parley/conversations';
import type { ChatDeps } from '../deps.js';
import { publishLive, remember } from './live.js';

/**
 * Stores the AI's answer as the next message of the conversation, once per
 * user message (`reply:<seq>`), and tells the sockets; dropped when an agent
 * holds the conversation by then.
 */
export async function onReplyGenerated(
  deps: ChatDeps,
  event: Event<ReplyGeneratedV1>,
): Promise<void> {
  const { payload } = event;
  // The session cache (L1 here, else L2) knows the owner; the primary is the fallback.
  const conversation =
    (await deps.sessions.get(event.tenant_id, event.conversation_id)) ??
    (await deps.store.conversation(event.tenant_id, event.conversation_id, 'primary'));
  if (!conversation) {
    deps.logger.warn(
      { conversationId: event.conversation_id },
      'Reply for an unknown conversation dropped',
    );
    return;
  }
  let appended: Appended;
  try {
    appended = await deps.store.appendMessage({
      tenantId: event.tenant_id,
      conversationId: event.conversation_id,
      visitorId: conversation.visitorId,
      channel: conversation.channel,
      role: 'assistant',
      messageId: payload.message_id,
      clientMessageId: `reply:${payload.reply_to_seq}`,
      eventId: event.event_id,
      text: payload.text,
      receivedAt: new Date(event.occurred_at),
      replyToSeq: payload.reply_to_seq,
      ...(payload.sources?.length ? { sources: payload.sources } : {}),
      // The bot checks who holds the conversation before every send: never over an agent.
      requireHandler: 'bot',
    });
  } catch (err) {
    if (!isStoreError(err, 'STORE_ERR_NOT_HANDLER')) throw err;
    deps.logger.info(
      { conversationId: event.conversation_id },
      'Bot reply dropped: an agent holds the conversation',
    );
    return;
  }
  if (appended.created) deps.metrics?.stored('assistant');
  // Sent together (one Redis pipeline): see message-received.consumer.ts.
  await Promise.all([
    remember(deps, appended),
    publishLive(deps, event.tenant_id, event.conversation_id, {
      kind: 'message',
      message: appended.message,
      answersReceivedAt: appended.receivedAt,
    }),
  ]);
}
