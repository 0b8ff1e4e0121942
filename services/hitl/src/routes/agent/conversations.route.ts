import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  EventRegistry,
  agentRepliedV1,
  conversationStateSchema,
  storableText,
  storedMessageSchema,
} from '@parley/contracts';
import { z } from 'zod';
import { hitlError } from '../../errors.js';
import { parse } from '../parse.js';
import { handoffSchema } from '../responses.js';
import { audit, idParam, refuse, requireAgent, type AgentRoutesOptions } from './shared.js';

const replyBody = z
  .object({
    clientMessageId: z.string().min(1).max(128),
    text: storableText(4_000).refine((t) => t.trim().length > 0, 'must not be blank'),
  })
  .strict();
const conversationAnswer = z.object({
  summary: z.string().describe('Why it was handed over, and what the visitor asked first and last'),
  conversation: conversationStateSchema
    .pick({ status: true, handler: true, handoff: true })
    .extend({ id: z.string(), channel: z.enum(['web', 'voice']) }),
  handoff: handoffSchema.nullable().describe('The open handoff, if any'),
  messages: z.array(storedMessageSchema).describe('The first 500 messages'),
});

/** A conversation as an agent reads it (with a summary), and the agent's replies. */
export async function conversationRoutes(
  scoped: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { bus, handoffs, conversations } = options;
  const registry = new EventRegistry([agentRepliedV1]);
  requireAgent(scoped, options);

  scoped.get(
    '/v1/agent/conversations/:id',
    {
      schema: {
        summary: 'A conversation with a summary, its open handoff and its messages',
        params: idParam,
        response: { 200: conversationAnswer },
      },
    },
    async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId } = request.agent!;
      const conversation = await conversations.conversation(tenantId, id, 'primary');
      if (!conversation) throw hitlError('HITL_ERR_NOT_FOUND', 'No such conversation');
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
    },
  );

  scoped.post(
    '/v1/agent/conversations/:id/messages',
    {
      schema: {
        summary: "Replies to the visitor (taking the conversation's waiting handoff)",
        description:
          'Needs an open handoff (409 `HITL_ERR_NO_HANDOFF` otherwise); `clientMessageId` makes a resend harmless.',
        params: idParam,
        body: replyBody,
        response: { 202: z.object({ messageId: z.string(), clientMessageId: z.string() }) },
      },
    },
    async (request, reply) => {
      const { id } = parse(idParam, request.params);
      const body = parse(replyBody, request.body);
      const { tenantId, agentId, name } = request.agent!;
      // Both at once: across regions each read is a round trip to the primary.
      const [conversation, open] = await Promise.all([
        conversations.conversation(tenantId, id, 'primary'),
        handoffs.openFor(tenantId, id),
      ]);
      if (!conversation) throw hitlError('HITL_ERR_NOT_FOUND', 'No such conversation');
      // Any agent's reply takes the conversation: a waiting handoff is accepted by it;
      // one another agent holds is not taken away. Without an open handoff (none was
      // asked for, or it was closed) the assistant answers: a reply would leave the
      // visitor with nobody answering, so it is refused.
      if (!open)
        throw hitlError(
          'HITL_ERR_NO_HANDOFF',
          'This conversation has no open handoff: the assistant answers it',
        );
      if (open.status === 'assigned' && open.agentId !== agentId) refuse('not_yours');
      let held = open.status === 'assigned' ? open : undefined;
      let accepted = false;
      if (open.status === 'queued') {
        const outcome = await handoffs.accept(tenantId, open.id, agentId);
        if (typeof outcome === 'string') refuse(outcome);
        // The visitor is told an agent joined before the reply; the queue's
        // other watchers after it.
        if (
          outcome.changed &&
          !(await options.dispatcher.announceAccepted(outcome.handoff, { id: agentId, name }))
        )
          throw hitlError('HITL_ERR_UNAVAILABLE', 'Could not accept right now; try again');
        accepted = outcome.changed;
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
      if (accepted) await options.queueChanged(tenantId);
      // The holder replied: its no-reply timer stops.
      if (held) await handoffs.agentReplied(tenantId, held.id, agentId);
      audit(request, 'reply', { conversationId: id, messageId });
      return reply.code(202).send({ messageId, clientMessageId: body.clientMessageId });
    },
  );
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
