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
  /** This installation's region (PARLEY_REGION): recorded as the home of the conversations it serves. */
  region?: string;
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
    ...(options.region ? { region: options.region } : {}),
    metrics: {
      stored: (role) => stored.inc({ role }),
      active: (tenantId, conversationId) => active.touch(tenantId, conversationId),
    },
  };
  superviseWorker(app, createChatWorker(deps), { name: `consumer:${groupId}` });
  const recoverAfterMs = options.settings.recoverAfterPromotionMs;
  const onWriterChanged = app.ports.db.onWriterChanged?.bind(app.ports.db);
  if (recoverAfterMs > 0 && onWriterChanged) {
    const timers = new Set<NodeJS.Timeout>();
    const unsubscribe = onWriterChanged((change) => {
      const promotedAt = new Date();
      const timer = setTimeout(() => {
        timers.delete(timer);
        void recoverAfterPromotion(deps, change.timeline, promotedAt).catch((err: unknown) =>
          app.log.warn({ err }, 'Unanswered messages not recovered after the promotion'),
        );
      }, recoverAfterMs);
      timers.add(timer);
    });
    app.addHook('onClose', async () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
    });
  }
  if (options.recoverUnanswered)
    app.addHook('onReady', async () => {
      const recovered = await recoverUnanswered(deps);
      if (recovered > 0) app.log.info({ recovered }, 'Requested replies left unanswered');
    });
}

/**
 * Requests the replies still missing for user messages stored before a
 * promotion, once per region and new writer (a lock in the region's cache);
 * the answers' store deduplicates a reply asked for twice.
 */
async function recoverAfterPromotion(
  deps: WorkerDeps,
  timeline: number,
  promotedAt: Date,
): Promise<void> {
  const lock = `parley:chat:recovered:timeline-${timeline}`;
  if (!(await deps.cache.setIfAbsent(lock, '1', 600_000))) return;
  const recovered = await recoverUnanswered(deps, { until: promotedAt });
  deps.logger.warn(
    { recovered, timeline },
    'Requested replies left unanswered before the promotion',
  );
}

export const chatModule = fp(chat, { name: 'parley-chat', fastify: '5.x' });
