import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hitlError } from '../../errors.js';
import { parse } from '../parse.js';
import { callbackSchema, teamMemberSchema } from '../responses.js';
import { audit, idParam, requireAgent, type AgentRoutesOptions } from './shared.js';

/** The tenant's agents, and the callbacks visitors asked for. */
export async function teamRoutes(
  scoped: FastifyInstance,
  options: AgentRoutesOptions,
): Promise<void> {
  const { agents, callbacks, queueChanged } = options;
  requireAgent(scoped, options);

  scoped.get(
    '/v1/agent/agents',
    {
      schema: {
        summary: "The tenant's agents (up to 500), present or not, and what each holds",
        response: { 200: z.object({ agents: z.array(teamMemberSchema) }) },
      },
    },
    async (request) => {
      const { tenantId } = request.agent!;
      return { agents: await agents.agents(tenantId) };
    },
  );

  scoped.get(
    '/v1/agent/callbacks',
    {
      schema: {
        summary: 'The callbacks visitors asked for: open ones, and the latest done',
        response: { 200: z.object({ callbacks: z.array(callbackSchema) }) },
      },
    },
    async (request) => {
      const { tenantId } = request.agent!;
      audit(request, 'list-callbacks');
      return { callbacks: await callbacks.callbacks(tenantId) };
    },
  );

  scoped.post(
    '/v1/agent/callbacks/:id/done',
    {
      schema: {
        summary: 'Marks a callback done (by this agent)',
        params: idParam,
        response: { 200: z.object({ callback: callbackSchema }) },
      },
    },
    async (request) => {
      const { id } = parse(idParam, request.params);
      const { tenantId, agentId } = request.agent!;
      const callback = await callbacks.completeCallback(tenantId, id, agentId);
      audit(request, 'callback-done', { callbackId: id, found: callback !== null });
      if (!callback) throw hitlError('HITL_ERR_NOT_FOUND', 'No such callback');
      await queueChanged(tenantId);
      return { callback };
    },
  );
}
