import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConversationStore } from '@parley/conversations';
import type { Cache, EventBus } from '@parley/ports';
import { describeRoutes } from '@parley/service-kit';
import { z } from 'zod';
import type { OidcVerifier } from '../../adapters/oidc.js';
import type { AgentClaims, AgentTokens } from '../../domain/agent-tokens.js';
import type { Dispatcher } from '../../domain/dispatcher.js';
import { hitlError, type HitlErrorCode } from '../../errors.js';
import type {
  AgentStore,
  CallbackStore,
  HandoffRefusal,
  HandoffStore,
  HitlSettingsStore,
} from '../../store/index.js';

/** What the agent API needs. */
export interface AgentRoutesOptions {
  bus: EventBus;
  cache: Cache;
  handoffs: HandoffStore;
  agents: AgentStore;
  callbacks: CallbackStore;
  hitlSettings: HitlSettingsStore;
  conversations: ConversationStore;
  tokens: AgentTokens;
  /** Verifies ID tokens from the OIDC provider, when one is configured. */
  oidc?: OidcVerifier;
  dispatcher: Dispatcher;
  /** Tells consoles and visitors of a change of queue or capacity, then dispatches what can be. */
  queueChanged(tenantId: string): Promise<void>;
  /** Counted when an agent closes (accepts are observed by the dispatcher). */
  metrics?: { closed(agentId: string): void };
  /**
   * Sign-in attempts, successful or not, before the wait: per client address
   * (both methods, one more every 30 s) and per account (passwords, one more
   * a minute). A guesser's wait grows with every attempt past the burst.
   */
  signInBurst: { perAddress: number; perAccount: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    agent?: AgentClaims;
  }
}

export const idParam = z.object({ id: z.string().min(1).max(128) });

/** How the OpenAPI document names the agents' API and its token. */
export const agentApi = {
  tags: ['agent'],
  security: {
    agentToken: {
      type: 'http',
      scheme: 'bearer',
      description: 'An agent token from `POST /v1/agent/sessions` (or `/v1/agent/sessions/oidc`)',
    },
  },
} as const;

const REFUSALS: Record<HandoffRefusal, [HitlErrorCode, string]> = {
  not_found: ['HITL_ERR_NOT_FOUND', 'No such handoff'],
  taken: ['HITL_ERR_TAKEN', 'Another agent accepted this handoff first'],
  closed: ['HITL_ERR_CLOSED', 'The handoff is closed'],
  not_yours: ['HITL_ERR_NOT_YOURS', 'Another agent holds this handoff'],
};

/** Answers a refused handoff change with its documented code. */
export function refuse(refusal: HandoffRefusal): never {
  const [code, message] = REFUSALS[refusal];
  throw hitlError(code, message);
}

/** Logs an agent's action for the audit trail (never message text or passwords). */
export function audit(
  request: FastifyRequest,
  action: string,
  fields: Record<string, unknown> = {},
): void {
  request.log.info(
    {
      audit: true,
      action,
      agentId: request.agent?.agentId,
      tenantId: request.agent?.tenantId,
      ...fields,
    },
    'Agent action',
  );
}

/**
 * Every route of `scope` needs an agent's bearer token, of an agent still
 * active (a disabled agent's tokens stop working at once); the claims are
 * `request.agent`.
 */
export function requireAgent(scope: FastifyInstance, options: AgentRoutesOptions): void {
  describeRoutes(scope, { tags: [...agentApi.tags], security: agentApi.security }); // in the OpenAPI document
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const claims = header.startsWith('Bearer ')
      ? await options.tokens.verify(header.slice(7))
      : null;
    if (!claims || !(await options.agents.isActive(claims.tenantId, claims.agentId)))
      throw hitlError('HITL_ERR_UNAUTHORIZED', 'A valid agent token is required');
    request.agent = claims;
  });
}

/** Announces an agent's new handoff; one whose announcement failed is back in the queue. */
export async function announceAccepted(
  options: AgentRoutesOptions,
  handoff: Parameters<Dispatcher['announceAccepted']>[0],
  agent: { id: string; name: string },
): Promise<void> {
  if (!(await options.dispatcher.announceAccepted(handoff, agent)))
    throw hitlError('HITL_ERR_UNAVAILABLE', 'Could not accept right now; try again');
  await options.queueChanged(handoff.tenantId);
}
