import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import { ConversationStore, SessionCache } from '@parley/conversations';
import { superviseWorker } from '@parley/service-kit';
import { ActiveSessions } from './active-sessions.js';
import { CHAT_GROUP, createChatWorker, recoverUnanswered } from './chat-worker.js';
import type { WorkerDeps } from './deps.js';
import type { ChatSettings } from './config.js';

/** Options for {@link chatModule}. */
export interface ChatModuleOptions {
  settings: ChatSettings;
  /** The consumer group on `conversation-events`. @default 'chat' */
  groupId?: string;
  /**
   * At start, request replies for recent user messages that have none: for a
   * bus that does not outlive the process (the embedded one). Kafka keeps
   * the requests, so the service leaves this off.
   */
  recoverUnanswered?: boolean;
}

/**
 * Chat: stores user messages, answers and agents' messages in order, applies
 * handoffs, and publishes each change live to the conversation's channel
 * (the socket's gateway pod). Its metrics: messages stored, and
 * `active_sessions` (the chat HPA's metric). Runs on `app.ports`.
 */
async function chat(app: FastifyInstance, options: ChatModuleOptions): Promise<void> {
  const stored = new Counter({
    name: 'chat_messages_stored_total',
    help: 'Messages stored, by role',
    labelNames: ['role'],
    registers: [app.metrics],
  });
  const active = new ActiveSessions();
  new Gauge({
    name: 'active_sessions',
    help: 'Conversations this pod served in the last 5 minutes (the chat HPA metric: 100 per pod)',
    registers: [app.metrics],
    collect() {
      this.set(active.count());
    },
  });
  const groupId = options.groupId ?? CHAT_GROUP;
  const deps: WorkerDeps = {
    bus: app.ports.bus,
    cache: app.ports.cache,
    store: new ConversationStore(app.ports.db),
    sessions: new SessionCache(app.ports.cache),
    logger: app.logger.child({ component: 'chat-worker' }),
    historyTurns: options.settings.historyTurns,
    groupId,
    metrics: {
      stored: (role) => stored.inc({ role }),
      active: (tenantId, conversationId) => active.touch(tenantId, conversationId),
    },
  };
  superviseWorker(app, createChatWorker(deps), { name: `consumer:${groupId}` });
  if (options.recoverUnanswered)
    app.addHook('onReady', async () => {
      const recovered = await recoverUnanswered(deps);
      if (recovered > 0) app.log.info({ recovered }, 'Requested replies left unanswered');
    });
}

export const chatModule = fp(chat, { name: 'parley-chat', fastify: '5.x' });
