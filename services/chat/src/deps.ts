import type { ConversationStore, ReplySettings, SessionCache } from '@parley/conversations';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus } from '@parley/ports';

/** What the chat service's handlers work with: ports, not clients. */
export interface ChatDeps {
  bus: EventBus;
  cache: Cache;
  store: ConversationStore;
  sessions: SessionCache;
  logger: Logger;
  /** Earlier turns sent with each reply request. @default 10 */
  historyTurns: number;
  /** The consumer group. @default 'chat' */
  groupId: string;
  /** This installation's region: the home of the conversations whose user messages it stores. */
  region?: string;
  /** The tenant's emergency contact and AI settings (cached for a minute). */
  replySettings: (tenantId: string) => Promise<ReplySettings>;
  metrics?: {
    stored(role: 'user' | 'assistant' | 'agent' | 'system'): void;
    /** A user message of the conversation was handled (the `active_sessions` gauge). */
    active?(tenantId: string, conversationId: string): void;
  };
}

/** What callers pass: {@link ChatDeps} with its defaults optional. */
export type WorkerDeps = Omit<ChatDeps, 'historyTurns' | 'groupId' | 'replySettings'> &
  Partial<Pick<ChatDeps, 'historyTurns' | 'groupId' | 'replySettings'>>;
