import type { FastifyInstance } from 'fastify';
import { conversationRoutes } from './conversations.route.js';
import { eventRoutes } from './events.route.js';
import { handoffRoutes } from './handoffs.route.js';
import { sessionRoutes } from './sessions.route.js';
import type { AgentRoutesOptions } from './shared.js';
import { teamRoutes } from './team.route.js';

export type { AgentRoutesOptions } from './shared.js';

/**
 * The agents' REST API (the console uses it), one file per resource: sign
 * in, the live feed, the queue and handoffs, the team and callbacks, the
 * conversations. Every call but sign-in needs an agent's bearer token and
 * sees only that agent's tenant; every action is audited (`audit: true`,
 * never message text or passwords).
 */
export async function agentRoutes(
  app: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  await app.register(sessionRoutes, options);
  await app.register(eventRoutes, options);
  await app.register(handoffRoutes, options);
  await app.register(teamRoutes, options);
  await app.register(conversationRoutes, options);
}
