import { LRUCache } from 'lru-cache';
import {
  EventRegistry,
  agentRepliedV1,
  handoffAcceptedV1,
  handoffClosedV1,
  handoffRequestedV1,
  handoffTransferredV1,
  messageReceivedV1,
  replyGeneratedV1,
  type AgentRepliedV1,
  type Event,
  type HandoffAcceptedV1,
  type HandoffClosedV1,
  type HandoffRequestedV1,
  type HandoffTransferredV1,
  type MessageReceivedV1,
  type ReplyGeneratedV1,
} from '@parley/contracts';
import { isStoreError, type ReplySettings } from '@parley/conversations';
import { PermanentError, type Subscription } from '@parley/ports';
import type { ChatDeps, WorkerDeps } from './deps.js';
import { onMessageReceived, requestReply } from './consumers/message-received.consumer.js';
import { onReplyGenerated } from './consumers/reply-generated.consumer.js';
import {
  onAgentReplied,
  onHandoffAccepted,
  onHandoffClosed,
  onHandoffRequested,
  onHandoffTransferred,
} from './consumers/handoff.consumer.js';

function withDefaults(deps: WorkerDeps): ChatDeps {
  const tenants = new LRUCache<string, ReplySettings>({ max: 10_000, ttl: 60_000 });
  return {
    historyTurns: 10,
    groupId: CHAT_GROUP,
    replySettings: async (tenantId) => {
      const hit = tenants.get(tenantId);
      if (hit) return hit;
      const value = await deps.store.replySettings(tenantId);
      tenants.set(tenantId, value);
      return value;
    },
    ...deps,
  };
}

/** The chat service's consumer group on `conversation-events`. */
export const CHAT_GROUP = 'chat';

/**
 * The chat service without its HTTP shell: one consumer-group member that
 * stores user messages, AI replies and agent messages in order, applies
 * handoffs (who holds the conversation), and publishes live updates.
 * The same code runs in the service process and in the embedded mode.
 */
export function createChatWorker(deps: WorkerDeps): Subscription {
  const full = withDefaults(deps);
  const registry = new EventRegistry([
    messageReceivedV1,
    replyGeneratedV1,
    handoffRequestedV1,
    handoffAcceptedV1,
    handoffClosedV1,
    handoffTransferredV1,
    agentRepliedV1,
  ]);
  return deps.bus.subscribe({
    groupId: full.groupId,
    registry,
    fromBeginning: true,
    handler: async (event: Event) => {
      try {
        switch (event.type) {
          case messageReceivedV1.type:
            return await onMessageReceived(full, registry, event as Event<MessageReceivedV1>);
          case replyGeneratedV1.type:
            return await onReplyGenerated(full, event as Event<ReplyGeneratedV1>);
          case handoffRequestedV1.type:
            return await onHandoffRequested(full, event as Event<HandoffRequestedV1>);
          case handoffAcceptedV1.type:
            return await onHandoffAccepted(full, event as Event<HandoffAcceptedV1>);
          case handoffClosedV1.type:
            return await onHandoffClosed(full, event as Event<HandoffClosedV1>);
          case handoffTransferredV1.type:
            return await onHandoffTransferred(full, event as Event<HandoffTransferredV1>);
          case agentRepliedV1.type:
            return await onAgentReplied(full, event as Event<AgentRepliedV1>);
        }
      } catch (err) {
        // No retry creates a tenant or changes who owns a conversation.
        if (
          isStoreError(err, 'STORE_ERR_UNKNOWN_TENANT') ||
          isStoreError(err, 'STORE_ERR_CONVERSATION_OWNER')
        )
          throw new PermanentError(err.message, { cause: err });
        throw err;
      }
    },
  });
}

/**
 * Requests replies for user messages of the last `withinMs` (created before
 * `until`) that have none. Run at start by the embedded mode, whose
 * in-process bus does not survive a restart, and by the services after a
 * Postgres promotion, when the requests may have been lost with another
 * region's Kafka. Returns how many.
 */
export async function recoverUnanswered(
  deps: WorkerDeps,
  {
    withinMs = 3_600_000,
    limit = 1_000,
    until,
  }: { withinMs?: number; limit?: number; until?: Date } = {},
): Promise<number> {
  const full = withDefaults(deps);
  const registry = new EventRegistry([messageReceivedV1, replyGeneratedV1]);
  const open = await deps.store.unansweredUserMessages(
    new Date(Date.now() - withinMs),
    limit,
    until,
  );
  for (const { conversation, message } of open)
    await requestReply(full, registry, conversation, message, '0');
  return open.length;
}
