import type { FastifyInstance } from 'fastify';
import { EventRegistry, handoffClosedV1, handoffTransferredV1 } from '@parley/contracts';
import { z } from 'zod';
import { queueNameSchema } from '../../domain/settings.js';
import { parse } from '../parse.js';
import { handoffSchema } from '../responses.js';
import {
  announceAccepted,
  audit,
  idParam,
  refuse,
  requireAgent,
  type AgentRoutesOptions,
} from './shared.js';

const transferBody = z.union([
  z.object({ toAgentId: z.string().min(1).max(128) }).strict(),
  z.object({ toQueue: queueNameSchema }).strict(),
]);
const handoffAnswer = z.object({ handoff: handoffSchema });

/** The tenant's queue, and an agent's handoffs: accept, close, transfer. */
export async function handoffRoutes(
  scoped: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { bus, handoffs, agents, hitlSettings, queueChanged } = options;
  const registry = new EventRegistry([handoffClosedV1, handoffTransferredV1]);
  requireAgent(scoped, options);

  scoped.get(
    '/v1/agent/queue',
    {
      schema: {
        summary: "The tenant's waiting handoffs, this agent's, and the queues to transfer to",
        response: {
          200: z.object({
            queued: z.array(handoffSchema.extend({ position: z.number().int() })),
            mine: z.array(handoffSchema),
            queues: z.array(z.string()).describe('`general` and the tenant’s routes’ queues'),
          }),
        },
      },
    },
    async (request) => {
      const { tenantId, agentId } = request.agent!;
      const [queued, mine, settings] = await Promise.all([
        handoffs.queued(tenantId),
        handoffs.assignedTo(tenantId, agentId),
        hitlSettings.settings(tenantId),
      ]);
      // The queues a conversation can be transferred to: general and the tenant's routes.
      const queues = [...new Set(['general', ...(settings.routes ?? []).map((r) => r.queue)])];
      return { queued, mine, queues };
    },
  );

  scoped.post(
    '/v1/agent/handoffs/:id/accept',
    {
      schema: {
        summary: 'Takes a waiting handoff (409 when another agent was first)',
        params: idParam,
        response: { 200: handoffAnswer },
      },
    },
    async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId, agentId, name } = request.agent!;
      const outcome = await handoffs.accept(tenantId, id, agentId);
      audit(request, 'accept', {
        handoffId: id,
        outcome: typeof outcome === 'string' ? outcome : 'ok',
      });
      if (typeof outcome === 'string') refuse(outcome);
      if (outcome.changed) await announceAccepted(options, outcome.handoff, { id: agentId, name });
      return { handoff: outcome.handoff };
    },
  );

  scoped.post(
    '/v1/agent/handoffs/:id/close',
    {
      schema: {
        summary: 'Closes a handoff this agent holds: the assistant answers again',
        params: idParam,
        response: { 200: handoffAnswer },
      },
    },
    async (request) => {
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
    },
  );

  scoped.post(
    '/v1/agent/handoffs/:id/transfer',
    {
      schema: {
        summary: 'Moves a handoff this agent holds to another agent, or back to a queue',
        params: idParam,
        body: transferBody,
        response: { 200: handoffAnswer },
      },
    },
    async (request) => {
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
      const to = 'toAgentId' in body ? await agents.agent(tenantId, body.toAgentId) : undefined;
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
    },
  );
}
