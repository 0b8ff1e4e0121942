import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  EventRegistry,
  cacheKey,
  storableText,
  conversationChannel,
  agentRepliedV1,
  handoffClosedV1,
  handoffTransferredV1,
} from '@parley/contracts';
import type { ConversationStore } from '@parley/conversations';
import type { Cache, EventBus, TokenBucket } from '@parley/ports';
import { ServiceError } from '@parley/service-kit';
import { z } from 'zod';
import { TICKET_SECONDS, type AgentClaims, type AgentTokens } from '../domain/agent-tokens.js';
import type { Agent, HandoffRefusal, HandoffStore } from '../store/handoff-store.js';
import { agentsChannel } from '../domain/queue-announcer.js';
import { isHashingBusy } from '../domain/passwords.js';
import { parse } from './parse.js';
import type { OidcVerifier } from '../adapters/oidc.js';
import { queueNameSchema } from '../domain/settings.js';
import type { Dispatcher } from '../domain/dispatcher.js';

/** What the agent API needs. */
export interface AgentRoutesOptions {
  bus: EventBus;
  cache: Cache;
  handoffs: HandoffStore;
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
const replyBody = z
  .object({
    clientMessageId: z.string().min(1).max(128),
    text: storableText(4_000).refine((t) => t.trim().length > 0, 'must not be blank'),
  })
  .strict();
const idParam = z.object({ id: z.string().min(1).max(128) });
const transferBody = z.union([
  z.object({ toAgentId: z.string().min(1).max(128) }).strict(),
  z.object({ toQueue: queueNameSchema }).strict(),
]);

/** Event streams one agent may hold at once (consoles open in several tabs or devices). */
const MAX_STREAMS_PER_AGENT = 5;
/** A stream's slot outlives a missed heartbeat (every 15 s), not a dead pod by much. */
const STREAM_SLOT_TTL_MS = 45_000;

const REFUSALS: Record<HandoffRefusal, [string, string, number]> = {
  not_found: ['HITL_ERR_NOT_FOUND', 'No such handoff', 404],
  taken: ['HITL_ERR_TAKEN', 'Another agent accepted this handoff first', 409],
  closed: ['HITL_ERR_CLOSED', 'The handoff is closed', 409],
  not_yours: ['HITL_ERR_NOT_YOURS', 'Another agent holds this handoff', 409],
};

function refuse(refusal: HandoffRefusal): never {
  const [code, message, status] = REFUSALS[refusal];
  throw new ServiceError(code, message, status);
}

/**
 * The agents' REST API (the console uses it): sign in, the tenant's queue,
 * accept, read a conversation, reply, close. Every call but sign-in needs an
 * agent's bearer token and sees only that agent's tenant; every action is
 * audited (`audit: true`, never message text or passwords).
 */
export async function agentRoutes(
  app: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { bus, cache, handoffs, conversations, tokens } = options;
  const perAddress: TokenBucket = {
    capacity: options.signInBurst.perAddress,
    refillPerSecond: 1 / 30,
  };
  const perAccount: TokenBucket = {
    capacity: options.signInBurst.perAccount,
    refillPerSecond: 1 / 60,
  };
  const registry = new EventRegistry([handoffClosedV1, handoffTransferredV1, agentRepliedV1]);
  const audit = (request: FastifyRequest, action: string, fields: Record<string, unknown> = {}) =>
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
  const { queueChanged } = options;
  /** Announces the agent's new handoff; one whose announcement failed is back in the queue. */
  const announceAccepted = async (
    handoff: Parameters<Dispatcher['announceAccepted']>[0],
    agent: { id: string; name: string },
  ) => {
    if (!(await options.dispatcher.announceAccepted(handoff, agent)))
      throw new ServiceError('HITL_ERR_UNAVAILABLE', 'Could not accept right now; try again', 503);
    await queueChanged(handoff.tenantId);
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
      throw new ServiceError(
        'HITL_ERR_BAD_CREDENTIALS',
        method === 'password' ? 'Wrong e-mail or password' : 'The ID token is not accepted',
        401,
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
      throw new ServiceError(
        'HITL_ERR_RATE_LIMITED',
        'Too many sign-in attempts; try again later',
        429,
        { details: { retryAfterMs } },
      );
    }
  };

  app.post('/v1/agent/sessions', async (request, reply) => {
    const body = parse(loginBody, request.body);
    await limitAttempts(reply, [
      [cacheKey('rl:agent-sign-in:ip', request.ip), perAddress],
      [cacheKey('rl:agent-sign-in:account', body.tenantId, body.email.toLowerCase()), perAccount],
    ]);
    const agent = await handoffs
      .authenticate(body.tenantId, body.email, body.password)
      .catch((err: unknown) => {
        if (!isHashingBusy(err)) throw err;
        reply.header('retry-after', '1');
        throw new ServiceError(
          'HITL_ERR_UNAVAILABLE',
          'Too many sign-ins at once; try again',
          503,
          {
            details: { retryAfterMs: 1_000 },
          },
        );
      });
    return reply.code(201).send(await signIn(request, 'password', body.tenantId, agent));
  });

  /**
   * `POST /v1/agent/sessions/oidc`: an ID token from the configured OpenID
   * Connect provider signs in the tenant's agent with its verified e-mail.
   */
  app.post('/v1/agent/sessions/oidc', async (request, reply) => {
    const { oidc } = options;
    if (!oidc)
      throw new ServiceError('HITL_ERR_NOT_FOUND', 'Single sign-on is not configured', 404);
    const body = parse(oidcBody, request.body);
    await limitAttempts(reply, [[cacheKey('rl:agent-sign-in:ip', request.ip), perAddress]]);
    const identity = await oidc.identity(body.idToken);
    const agent = identity ? await handoffs.agentByOidc(body.tenantId, identity) : null;
    return reply.code(201).send(await signIn(request, 'oidc', body.tenantId, agent));
  });

  /**
   * `GET /v1/agent/events?ticket=…[&conversation=…]`: server-sent events for the
   * console: `queue` whenever the tenant's queue changes, and the live updates
   * of the conversation the agent has open (`message`, `state`, `typing`).
   * EventSource cannot send headers, so the URL carries a ticket from
   * `POST /v1/agent/events/tickets`: good for 30 s and for one stream, never
   * the agent's token. An agent holds at most {@link MAX_STREAMS_PER_AGENT}
   * streams at once, across every pod.
   */
  // Open streams would hold the server open: end them when it closes.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });
  app.get('/v1/agent/events', async (request, reply) => {
    const query = parse(
      z.object({
        ticket: z.string().max(4_096),
        conversation: z.string().min(1).max(128).optional(),
      }),
      request.query,
    );
    const claims = await tokens.verifyTicket(query.ticket);
    const unauthorized = () =>
      new ServiceError(
        'HITL_ERR_UNAUTHORIZED',
        'A valid, unused event-stream ticket is required',
        401,
      );
    if (!claims || !(await handoffs.isActive(claims.tenantId, claims.agentId)))
      throw unauthorized();
    // One stream per ticket: the first to present it takes it.
    const fresh = await cache
      .setIfAbsent(cacheKey('agent-ticket-used', claims.ticketId), '1', 2 * TICKET_SECONDS * 1000)
      .catch(() => false);
    if (!fresh) throw unauthorized();
    const streamId = randomUUID();
    const slots = cacheKey('agent-streams', claims.tenantId, claims.agentId);
    const holdSlot = () =>
      cache
        .acquireSlot(slots, streamId, MAX_STREAMS_PER_AGENT, STREAM_SLOT_TTL_MS)
        .catch(() => true);
    if (!(await holdSlot()))
      throw new ServiceError(
        'HITL_ERR_TOO_MANY_STREAMS',
        `At most ${MAX_STREAMS_PER_AGENT} event streams per agent; close another console`,
        429,
      );
    if (
      query.conversation &&
      !(await conversations.conversation(claims.tenantId, query.conversation, 'primary'))
    )
      throw new ServiceError('HITL_ERR_NOT_FOUND', 'No such conversation', 404);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: string) => raw.write(`event: ${event}\ndata: ${data}\n\n`);
    const unsubscribers = [
      await cache.subscribe(agentsChannel(claims.tenantId), () => send('queue', '{}')),
    ];
    if (query.conversation)
      unsubscribers.push(
        await cache.subscribe(conversationChannel(claims.tenantId, query.conversation), (data) =>
          send('conversation', data),
        ),
      );
    send('ready', '{}');
    // A connected console is a present agent (callbacks are offered when none is).
    const present = () =>
      handoffs.touchAgent(claims.tenantId, claims.agentId).catch(() => undefined);
    await present();
    void queueChanged(claims.tenantId); // a newly present agent may take waiting handoffs
    const heartbeat = setInterval(() => {
      raw.write(': keep-alive\n\n');
      void present();
      void holdSlot();
    }, 15_000);
    heartbeat.unref();
    const stop = () => {
      clearInterval(heartbeat);
      for (const unsubscribe of unsubscribers) void unsubscribe().catch(() => undefined);
      void cache.releaseSlot(slots, streamId).catch(() => undefined);
    };
    streams.add(raw);
    raw.on('close', () => {
      streams.delete(raw);
      stop();
    });
  });

  // Everything below needs an agent's token.
  await app.register(async (scoped) => {
    scoped.addHook('onRequest', async (request) => {
      const header = request.headers.authorization ?? '';
      const claims = header.startsWith('Bearer ') ? await tokens.verify(header.slice(7)) : null;
      // A disabled agent's tokens stop working at once.
      if (!claims || !(await handoffs.isActive(claims.tenantId, claims.agentId)))
        throw new ServiceError('HITL_ERR_UNAUTHORIZED', 'A valid agent token is required', 401);
      request.agent = claims;
    });

    scoped.post('/v1/agent/events/tickets', async (request, reply) => {
      const { ticket, expiresAt } = await tokens.issueTicket(request.agent!);
      return reply.code(201).send({ ticket, expiresAt: expiresAt.toISOString() });
    });

    scoped.get('/v1/agent/queue', async (request) => {
      const { tenantId, agentId } = request.agent!;
      const [queued, mine, settings] = await Promise.all([
        handoffs.queued(tenantId),
        handoffs.assignedTo(tenantId, agentId),
        handoffs.settings(tenantId),
      ]);
      // The queues a conversation can be transferred to: general and the tenant's routes.
      const queues = [...new Set(['general', ...(settings.routes ?? []).map((r) => r.queue)])];
      return { queued, mine, queues };
    });

    scoped.post('/v1/agent/handoffs/:id/accept', async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId, agentId, name } = request.agent!;
      const outcome = await handoffs.accept(tenantId, id, agentId);
      audit(request, 'accept', {
        handoffId: id,
        outcome: typeof outcome === 'string' ? outcome : 'ok',
      });
      if (typeof outcome === 'string') refuse(outcome);
      if (outcome.changed) await announceAccepted(outcome.handoff, { id: agentId, name });
      return { handoff: outcome.handoff };
    });

    scoped.post('/v1/agent/handoffs/:id/close', async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId, agentId } = request.agent!;
      const outcome = await handoffs.close(tenantId, id, agentId);
      audit(request, 'close', {
        handoffId: id,
        outcome: typeof outcome === 'string' ? outcome : 'ok',
      });
      if (typeof outcome === 'string') refuse(outcome);
      if (outcome.changed) {
        options.metrics?.closed(agentId);
        await bus.publish(
          registry.create(handoffClosedV1, {
            conversationId: outcome.handoff.conversationId,
            tenantId,
            payload: { handoff_id: id, agent_id: agentId, outcome: 'resolved' },
          }),
        );
        await queueChanged(tenantId);
      }
      return { handoff: outcome.handoff };
    });

    scoped.post('/v1/agent/handoffs/:id/transfer', async (request) => {
      const { id } = parse(idParam, request.params);
      const body = parse(transferBody, request.body);
      const { tenantId, agentId } = request.agent!;
      const target = 'toAgentId' in body ? { agentId: body.toAgentId } : { queue: body.toQueue };
      const outcome = await handoffs.transfer(tenantId, id, agentId, target);
      audit(request, 'transfer', {
        handoffId: id,
        to: 'toAgentId' in body ? `agent:${body.toAgentId}` : `queue:${body.toQueue}`,
        outcome: typeof outcome === 'string' ? outcome : 'ok',
      });
      if (typeof outcome === 'string') refuse(outcome);
      const to = 'toAgentId' in body ? await handoffs.agent(tenantId, body.toAgentId) : undefined;
      await bus.publish(
        registry.create(handoffTransferredV1, {
          conversationId: outcome.conversationId,
          tenantId,
          payload: {
            handoff_id: id,
            from_agent_id: agentId,
            reason: 'transfer',
            ...(to
              ? { to: 'agent' as const, agent_id: to.id, agent_name: to.name }
              : { to: 'queue' as const, queue: outcome.queue }),
          },
        }),
      );
      await queueChanged(tenantId);
      return { handoff: outcome };
    });

    scoped.get('/v1/agent/agents', async (request) => {
      const { tenantId } = request.agent!;
      return { agents: await handoffs.agents(tenantId) };
    });

    scoped.get('/v1/agent/callbacks', async (request) => {
      const { tenantId } = request.agent!;
      audit(request, 'list-callbacks');
      return { callbacks: await handoffs.callbacks(tenantId) };
    });

    scoped.post('/v1/agent/callbacks/:id/done', async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId, agentId } = request.agent!;
      const callback = await handoffs.completeCallback(tenantId, id, agentId);
      audit(request, 'callback-done', { callbackId: id, found: callback !== null });
      if (!callback) throw new ServiceError('HITL_ERR_NOT_FOUND', 'No such callback', 404);
      await queueChanged(tenantId);
      return { callback };
    });

    scoped.get('/v1/agent/conversations/:id', async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId } = request.agent!;
      const conversation = await conversations.conversation(tenantId, id, 'primary');
      if (!conversation) throw new ServiceError('HITL_ERR_NOT_FOUND', 'No such conversation', 404);
      const [messages, handoff] = await Promise.all([
        conversations.messagesAfter(tenantId, id, 0, 500, 'primary'),
        handoffs.openFor(tenantId, id),
      ]);
      audit(request, 'read', { conversationId: id });
      return {
        summary: summarize(messages, handoff?.reason),
        conversation: {
          id,
          status: conversation.status,
          handler: conversation.handler,
          handoff: conversation.handoff,
          channel: conversation.channel,
        },
        handoff,
        messages,
      };
    });

    scoped.post('/v1/agent/conversations/:id/messages', async (request, reply) => {
      const { id } = parse(idParam, request.params);
      const body = parse(replyBody, request.body);
      const { tenantId, agentId, name } = request.agent!;
      const conversation = await conversations.conversation(tenantId, id, 'primary');
      if (!conversation) throw new ServiceError('HITL_ERR_NOT_FOUND', 'No such conversation', 404);
      // Any agent's reply takes the conversation: a waiting handoff is accepted by it;
      // one another agent holds is not taken away. Without an open handoff (none was
      // asked for, or it was closed) the assistant answers: a reply would leave the
      // visitor with nobody answering, so it is refused.
      const open = await handoffs.openFor(tenantId, id);
      if (!open)
        throw new ServiceError(
          'HITL_ERR_NO_HANDOFF',
          'This conversation has no open handoff: the assistant answers it',
          409,
        );
      if (open.status === 'assigned' && open.agentId !== agentId) refuse('not_yours');
      let held = open.status === 'assigned' ? open : undefined;
      if (open.status === 'queued') {
        const outcome = await handoffs.accept(tenantId, open.id, agentId);
        if (typeof outcome === 'string') refuse(outcome);
        if (outcome.changed) await announceAccepted(outcome.handoff, { id: agentId, name });
        held = outcome.handoff;
      }
      const messageId = randomUUID();
      await bus.publish(
        registry.create(agentRepliedV1, {
          conversationId: id,
          tenantId,
          payload: {
            message_id: messageId,
            client_message_id: body.clientMessageId,
            agent_id: agentId,
            agent_name: name,
            text: body.text,
          },
        }),
      );
      // The holder replied: its no-reply timer stops.
      if (held) await handoffs.agentReplied(tenantId, held.id, agentId);
      audit(request, 'reply', { conversationId: id, messageId });
      return reply.code(202).send({ messageId, clientMessageId: body.clientMessageId });
    });
  });
}

const REASONS: Record<string, string> = {
  user_request: 'the visitor asked for a person',
  emergency: 'an emergency was detected',
  bot_unavailable: 'the assistant could not answer',
  degraded: 'the platform is degraded',
  tenant_rule: "one of the tenant's handoff rules matched",
  low_confidence: 'the assistant was not confident of its answer',
};

/** A short summary for the agent: why, how long, what the visitor asked first and last. */
export function summarize(
  messages: Array<{ role: string; text: string }>,
  reason: string | undefined,
): string {
  const clip = (t: string) => (t.length > 160 ? `${t.slice(0, 157)}…` : t);
  const fromVisitor = messages.filter((m) => m.role === 'user');
  const parts = [
    reason ? `Handed over because ${REASONS[reason] ?? reason}.` : 'No open handoff.',
    `${fromVisitor.length} message${fromVisitor.length === 1 ? '' : 's'} from the visitor, ${messages.length} in all.`,
  ];
  if (fromVisitor[0]) parts.push(`First: “${clip(fromVisitor[0].text)}”.`);
  if (fromVisitor.length > 1) parts.push(`Latest: “${clip(fromVisitor.at(-1)!.text)}”.`);
  return parts.join(' ');
}
