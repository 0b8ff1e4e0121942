import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { cacheKey, conversationChannel } from '@parley/contracts';
import { z } from 'zod';
import { TICKET_SECONDS } from '../../domain/agent-tokens.js';
import { hitlError } from '../../errors.js';
import { agentsChannel } from '../../domain/queue-announcer.js';
import { parse } from '../parse.js';
import { agentApi, requireAgent, type AgentRoutesOptions } from './shared.js';

/** Event streams one agent may hold at once (consoles open in several tabs or devices). */
const MAX_STREAMS_PER_AGENT = 5;
/** A stream's slot outlives a missed heartbeat (every 15 s), not a dead pod by much. */
const STREAM_SLOT_TTL_MS = 45_000;

const eventsQuery = z.object({
  ticket: z.string().max(4_096).describe('From `POST /v1/agent/events/tickets`: 30 s, one stream'),
  conversation: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe("Also stream this conversation's updates"),
});

/** The console's live feed: tickets, and the event stream they open. */
export async function eventRoutes(
  app: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { cache, agents, conversations, tokens, queueChanged } = options;

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
  app.get(
    '/v1/agent/events',
    {
      schema: {
        tags: [...agentApi.tags],
        summary: "The console's server-sent events: `queue`, `conversation`, `ready`",
        description:
          'Authenticated by the ticket in the query (EventSource sends no headers); at most 5 streams per agent (429).',
        querystring: eventsQuery,
        response: {
          200: { content: { 'text/event-stream': { schema: z.string() } } },
        },
      },
    },
    async (request, reply) => {
      const query = parse(eventsQuery, request.query);
      const claims = await tokens.verifyTicket(query.ticket);
      const unauthorized = () =>
        hitlError('HITL_ERR_UNAUTHORIZED', 'A valid, unused event-stream ticket is required');
      if (!claims || !(await agents.isActive(claims.tenantId, claims.agentId)))
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
        throw hitlError(
          'HITL_ERR_TOO_MANY_STREAMS',
          `At most ${MAX_STREAMS_PER_AGENT} event streams per agent; close another console`,
        );
      if (
        query.conversation &&
        !(await conversations.conversation(claims.tenantId, query.conversation, 'primary'))
      )
        throw hitlError('HITL_ERR_NOT_FOUND', 'No such conversation');
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
        agents.touchAgent(claims.tenantId, claims.agentId).catch(() => undefined);
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
    },
  );

  await app.register(async (scoped) => {
    requireAgent(scoped, options);
    scoped.post(
      '/v1/agent/events/tickets',
      {
        schema: {
          summary: 'A ticket for `GET /v1/agent/events` (the token never goes in a URL)',
          response: { 201: z.object({ ticket: z.string(), expiresAt: z.string() }) },
        },
      },
      async (request, reply) => {
        const { ticket, expiresAt } = await tokens.issueTicket(request.agent!);
        return reply.code(201).send({ ticket, expiresAt: expiresAt.toISOString() });
      },
    );
  });
}
