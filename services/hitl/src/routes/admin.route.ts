import type { FastifyInstance } from 'fastify';
import { requireOperator } from '@parley/service-kit';
import { languageSchema } from '@parley/contracts';
import { z } from 'zod';
import type { AgentStore, HitlSettingsStore } from '../store/index.js';
import { hitlSettingsSchema, queueNameSchema } from '../domain/settings.js';
import { HITL_ERROR_PREFIX, hitlError } from '../errors.js';
import { parse } from './parse.js';
import { agentSchema, teamMemberSchema } from './responses.js';

/** What the operators' HITL API needs. */
export interface HitlAdminOptions {
  /** Operators' bearer token; empty turns the admin API off (every call 404s). */
  token: string;
  agents: AgentStore;
  hitlSettings: HitlSettingsStore;
  /** Tells consoles and visitors, and dispatches, after a change of agents or settings. */
  queueChanged(tenantId: string): Promise<void>;
}

const tenantParam = z.object({ tenantId: z.string().min(1).max(128) });
const agentParam = tenantParam.extend({ agentId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/) });
const agentBody = z.strictObject({
  email: z.string().email().max(254),
  name: z.string().trim().min(1).max(100),
  /** Required for a new agent; left out, an existing agent keeps its password. */
  password: z.string().min(12, 'at least 12 characters').max(256).optional(),
  maxConcurrent: z.number().int().min(1).max(50).optional(),
  skills: z.array(queueNameSchema).max(50).optional(),
  languages: z.array(languageSchema).max(20).optional(),
});
const settingsAnswer = z.object({ settings: hitlSettingsSchema });

/**
 * Operators manage each tenant's agents and handoff settings (the embedded
 * demo seeds its agent instead). Behind `PARLEY_ADMIN_TOKEN`, every call
 * audited; passwords are hashed and never returned or logged.
 *
 * - `GET /admin/tenants/:tenantId/agents`
 * - `PUT /admin/tenants/:tenantId/agents/:agentId` creates or updates one
 * - `DELETE /admin/tenants/:tenantId/agents/:agentId` disables it (its conversations go back to the queue)
 * - `GET|PUT /admin/tenants/:tenantId/hitl-settings` (assignment strategy, routes to skill queues)
 */
export async function hitlAdminRoutes(
  app: FastifyInstance,
  options: HitlAdminOptions,
): Promise<void> {
  requireOperator(app, { token: options.token, codePrefix: HITL_ERROR_PREFIX });
  const { agents, hitlSettings } = options;
  const tenant = async (params: unknown) => {
    const { tenantId } = parse(tenantParam, params);
    if (!(await hitlSettings.tenantExists(tenantId)))
      throw hitlError('HITL_ERR_UNKNOWN_TENANT', 'No such tenant');
    return tenantId;
  };

  app.get(
    '/admin/tenants/:tenantId/agents',
    {
      schema: {
        summary: "A tenant's agents",
        params: tenantParam,
        response: { 200: z.object({ agents: z.array(teamMemberSchema) }) },
      },
    },
    async (request) => {
      const tenantId = await tenant(request.params);
      return { agents: await agents.agents(tenantId) };
    },
  );

  app.put(
    '/admin/tenants/:tenantId/agents/:agentId',
    {
      schema: {
        summary: 'Creates or updates an agent (a new one needs a password)',
        params: agentParam,
        body: agentBody,
        response: { 200: z.object({ agent: agentSchema }) },
      },
    },
    async (request) => {
      const { agentId } = parse(agentParam, request.params);
      const tenantId = await tenant(request.params);
      const body = parse(agentBody, request.body);
      const agent = await agents.upsertAgent({ tenantId, id: agentId, ...body }).catch((err) => {
        // The e-mail belongs to another agent of the tenant (unique per tenant).
        if ((err as { code?: string }).code === '23505')
          throw hitlError('HITL_ERR_EMAIL_TAKEN', 'Another agent has this e-mail');
        throw err;
      });
      if (!agent) throw hitlError('HITL_ERR_PASSWORD_REQUIRED', 'A new agent needs a password');
      await options.queueChanged(tenantId);
      return { agent };
    },
  );

  app.delete(
    '/admin/tenants/:tenantId/agents/:agentId',
    {
      schema: {
        summary: 'Disables an agent: its conversations go back to the queue',
        params: agentParam,
        response: {
          200: z.object({
            disabled: z.string(),
            requeued: z.array(z.string()).describe('The handoffs put back in the queue'),
          }),
        },
      },
    },
    async (request) => {
      const { agentId } = parse(agentParam, request.params);
      const tenantId = await tenant(request.params);
      const requeued = await agents.disableAgent(tenantId, agentId);
      if (!requeued) throw hitlError('HITL_ERR_NOT_FOUND', 'No such agent');
      await options.queueChanged(tenantId);
      return { disabled: agentId, requeued: requeued.map((h) => h.id) };
    },
  );

  app.get(
    '/admin/tenants/:tenantId/hitl-settings',
    {
      schema: {
        summary: "A tenant's handoff settings",
        params: tenantParam,
        response: { 200: settingsAnswer },
      },
    },
    async (request) => {
      const tenantId = await tenant(request.params);
      return { settings: await hitlSettings.settings(tenantId) };
    },
  );

  app.put(
    '/admin/tenants/:tenantId/hitl-settings',
    {
      schema: {
        summary: "Sets a tenant's handoff settings: assignment strategy, routes to skill queues",
        params: tenantParam,
        body: hitlSettingsSchema,
        response: { 200: settingsAnswer },
      },
    },
    async (request) => {
      const tenantId = await tenant(request.params);
      const settings = parse(hitlSettingsSchema, request.body);
      await hitlSettings.setSettings(tenantId, settings);
      await options.queueChanged(tenantId);
      return { settings };
    },
  );
}
