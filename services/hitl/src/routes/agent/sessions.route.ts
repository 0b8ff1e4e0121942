import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cacheKey } from '@parley/contracts';
import type { TokenBucket } from '@parley/ports';
import { z } from 'zod';
import { isHashingBusy } from '../../domain/passwords.js';
import { hitlError } from '../../errors.js';
import type { Agent } from '../../store/index.js';
import { parse } from '../parse.js';
import { agentSchema } from '../responses.js';
import { agentApi, type AgentRoutesOptions } from './shared.js';

const loginBody = z
  .object({
    tenantId: z.string().min(1).max(128),
    email: z.string().email().max(254),
    password: z.string().min(1).max(256),
  })
  .strict();
const oidcBody = z
  .object({ tenantId: z.string().min(1).max(128), idToken: z.string().min(1).max(16_384) })
  .strict();
const signedIn = z.object({
  token: z.string().describe('The agent token: `Authorization: Bearer <token>`'),
  expiresAt: z.string(),
  agent: agentSchema,
});
const signInSchema = {
  tags: [...agentApi.tags],
  response: { 201: signedIn },
};

/**
 * Signing in: `POST /v1/agent/sessions` (e-mail and password) and
 * `POST /v1/agent/sessions/oidc` (an ID token), each answered with an agent
 * token; attempts are rate limited per address and per account, and audited.
 */
export async function sessionRoutes(
  app: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { cache, agents, tokens } = options;
  const perAddress: TokenBucket = {
    capacity: options.signInBurst.perAddress,
    refillPerSecond: 1 / 30,
  };
  const perAccount: TokenBucket = {
    capacity: options.signInBurst.perAccount,
    refillPerSecond: 1 / 60,
  };

  /** Audits a sign-in and answers with an agent token, or refuses it. */
  const signIn = async (
    request: FastifyRequest,
    method: 'password' | 'oidc',
    tenantId: string,
    agent: Agent | null,
  ) => {
    request.log.info(
      { audit: true, action: 'sign-in', method, tenantId, allowed: agent !== null, ip: request.ip },
      'Agent action',
    );
    if (!agent)
      throw hitlError(
        'HITL_ERR_BAD_CREDENTIALS',
        method === 'password' ? 'Wrong e-mail or password' : 'The ID token is not accepted',
      );
    const { token, expiresAt } = await tokens.issue({
      tenantId: agent.tenantId,
      agentId: agent.id,
      name: agent.name,
    });
    return { token, expiresAt: expiresAt.toISOString(), agent };
  };

  /** Takes one attempt from each bucket, or refuses with 429 and when to retry. */
  const limitAttempts = async (
    reply: { header(name: string, value: string): unknown },
    buckets: Array<[string, TokenBucket]>,
  ) => {
    for (const [key, bucket] of buckets) {
      // The cache being down must not lock agents out: the hash bulkhead still bounds the cost.
      const taken = await cache
        .takeTokens(key, bucket)
        .catch(() => ({ allowed: true, retryAfterMs: 0 }));
      if (taken.allowed) continue;
      const retryAfterMs = Math.max(1_000, taken.retryAfterMs);
      reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
      throw hitlError('HITL_ERR_RATE_LIMITED', 'Too many sign-in attempts; try again later', {
        retryAfterMs,
      });
    }
  };

  app.post(
    '/v1/agent/sessions',
    {
      schema: {
        ...signInSchema,
        summary: 'Signs an agent in with e-mail and password',
        description: 'Rate limited per address and per account (429 with `retry-after`).',
        body: loginBody,
      },
    },
    async (request, reply) => {
      const body = parse(loginBody, request.body);
      await limitAttempts(reply, [
        [cacheKey('rl:agent-sign-in:ip', request.ip), perAddress],
        [cacheKey('rl:agent-sign-in:account', body.tenantId, body.email.toLowerCase()), perAccount],
      ]);
      const agent = await agents
        .authenticate(body.tenantId, body.email, body.password)
        .catch((err: unknown) => {
          if (!isHashingBusy(err)) throw err;
          reply.header('retry-after', '1');
          throw hitlError('HITL_ERR_UNAVAILABLE', 'Too many sign-ins at once; try again', {
            retryAfterMs: 1_000,
          });
        });
      return reply.code(201).send(await signIn(request, 'password', body.tenantId, agent));
    },
  );

  /**
   * `POST /v1/agent/sessions/oidc`: an ID token from the configured OpenID
   * Connect provider signs in the tenant's agent with its verified e-mail.
   */
  app.post(
    '/v1/agent/sessions/oidc',
    {
      schema: {
        ...signInSchema,
        summary: "Signs an agent in with an OpenID Connect ID token (404 when it isn't configured)",
        body: oidcBody,
      },
    },
    async (request, reply) => {
      const { oidc } = options;
      if (!oidc) throw hitlError('HITL_ERR_NOT_FOUND', 'Single sign-on is not configured');
      const body = parse(oidcBody, request.body);
      await limitAttempts(reply, [[cacheKey('rl:agent-sign-in:ip', request.ip), perAddress]]);
      const identity = await oidc.identity(body.idToken);
      const agent = identity ? await agents.agentByOidc(body.tenantId, identity) : null;
      return reply.code(201).send(await signIn(request, 'oidc', body.tenantId, agent));
    },
  );
}
