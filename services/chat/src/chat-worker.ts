import {
  EventRegistry,
  messageReceivedV1,
  replyGeneratedV1,
  type Event,
  type MessageReceivedV1,
  type ReplyGeneratedV1,
} from '@parley/contracts';
import type { ConversationStore, SessionCache } from '@parley/conversations';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Subscription } from '@parley/ports';
import { onMessageReceived } from './consumers/message-received.consumer.js';
import { onReplyGenerated } from './consumers/reply-generated.consumer.js';

/** What the chat service's handlers work with: ports, not clients. */
export interface ChatDeps {
  bus: EventBus;
  cache: Cache;
  store: ConversationStore;
  sessions: SessionCache;
  logger: Logger;
  /** Earlier turns sent with each reply request. @default 10 */
  historyTurns: number;
  metrics?: { stored(role: 'user' | 'assistant'): void };
}

/** The chat service's consumer group on `conversation-events`. */
export const CHAT_GROUP = 'chat';

/**
 * The chat service without its HTTP shell: one consumer-group member that
 * stores user messages and AI replies in order and publishes live updates.
 * The same code runs in the service process and in the embedded mode.
 */
export function createChatWorker(
  deps: Omit<ChatDeps, 'historyTurns'> & { historyTurns?: number },
): Subscription {
  const full: ChatDeps = { historyTurns: 10, ...deps };
  const registry = new EventRegistry([messageReceivedV1, replyGeneratedV1]);
  return deps.bus.subscribe({
    groupId: CHAT_GROUP,
    registry,
    fromBeginning: true,
    handler: async (event: Event) => {
      switch (event.type) {
        case messageReceivedV1.type:
          return onMessageReceived(full, registry, event as Event<MessageReceivedV1>);
        case replyGeneratedV1.type:
          return onReplyGenerated(full, event as Event<ReplyGeneratedV1>);
      }
    },
  });
}
