import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ConversationStore } from '@parley/conversations';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, SqlDatabase, Subscription } from '@parley/ports';
import { createHandoffWorker } from './consumers/handoff-requested.consumer.js';
import { AgentTokens } from './domain/agent-tokens.js';
import { HandoffStore } from './domain/handoff-store.js';
import { agentRoutes } from './routes/agent.route.js';

/** What the human-handoff part of Parley runs on (the same in the service and embedded). */
export interface HitlDeps {
  bus: EventBus;
  cache: Cache;
  db: SqlDatabase;
  conversations: ConversationStore;
  /** Signs agents' tokens (at least 32 characters). */
  agentSecret: string;
  logger: Logger;
  groupId?: string;
}

/** The registered parts, for hosts and tests. */
export interface Hitl {
  handoffs: HandoffStore;
  worker: Subscription;
}

/**
 * Mounts the agents' API on `app` and creates the worker that queues
 * handoffs; the host starts and stops the worker. `@parley/hitl/hitl`.
 */
export async function registerHitl(app: FastifyInstance, deps: HitlDeps): Promise<Hitl> {
  const handoffs = new HandoffStore(deps.db);
  const tokens = new AgentTokens(deps.agentSecret);
  // The agent console: static files under /console/ (the API below serves its data).
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../public/', import.meta.url)),
    prefix: '/console/',
    index: ['index.html'],
    decorateReply: false,
    serveDotFiles: false,
    maxAge: 60_000,
    // Defence in depth against XSS: only the console's own files run.
    setHeaders: (res) => {
      res.setHeader('content-security-policy', "default-src 'self'; frame-ancestors 'none'");
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
  await app.register(agentRoutes, {
    bus: deps.bus,
    cache: deps.cache,
    handoffs,
    conversations: deps.conversations,
    tokens,
  });
  const worker = createHandoffWorker({
    bus: deps.bus,
    cache: deps.cache,
    handoffs,
    logger: deps.logger.child({ component: 'handoff-worker' }),
    ...(deps.groupId ? { groupId: deps.groupId } : {}),
  });
  return { handoffs, worker };
}

export {
  HandoffStore,
  type Agent,
  type Handoff,
  type QueuedHandoff,
} from './domain/handoff-store.js';
