import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  hitlSettingsSchema,
  storableText,
  tenantAiSettingsSchema,
  tenantIdSchema,
} from '@parley/contracts';
import { isStoreError, type TenantStore } from '@parley/conversations';
import { ServiceError, noContent, parseInput, requireOperator } from '@parley/service-kit';

/** Options for {@link tenantsRoute}. */
export interface TenantsRouteOptions {
  /** Operators' bearer token (`PARLEY_ADMIN_TOKEN`); empty: these routes answer 404. */
  token: string;
  tenants: TenantStore;
  /** A tenant changed: what this pod remembers of tenants is out of date. */
  onChanged?(): void;
}

const BAD = 'GW_ERR_BAD_REQUEST';

/** An origin exactly: scheme, host and port, no path (`https://shop.example`). */
const origin = z
  .string()
  .max(253)
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  }, 'an origin such as https://shop.example (scheme and host, no path or trailing slash)');

const putBody = z.strictObject({
  name: storableText(200)
    .refine((t) => t.trim().length > 0, 'must not be blank')
    .optional(),
  allowedOrigins: z.array(origin).min(1).max(50).optional(),
  emergencyContact: storableText(200).nullable().optional(),
  aiSettings: tenantAiSettingsSchema.optional(),
  hitlSettings: hitlSettingsSchema.optional(),
});
const tenantParams = z.strictObject({ id: tenantIdSchema });
const keyParams = z.strictObject({
  id: tenantIdSchema,
  key: z.string().regex(/^[A-Za-z0-9._-]{1,160}$/),
});
const emptyBody = z.strictObject({}).optional();

/** A tenant as operators see it (`TenantView`): no secret, only whether one is set. */
const tenantView = z.object({
  id: z.string(),
  name: z.string(),
  allowedOrigins: z.array(z.string()),
  emergencyContact: z.string().nullable(),
  aiSettings: tenantAiSettingsSchema,
  hitlSettings: hitlSettingsSchema,
  widgetKeys: z
    .array(z.object({ key: z.string(), createdAt: z.string() }))
    .describe('The live widget keys, newest first'),
  identitySecret: z.boolean().describe('Whether customer ids can be verified'),
  createdAt: z.string(),
});
const tenantAnswer = z.object({ tenant: tenantView });

const unknownTenant = () => new ServiceError('GW_ERR_UNKNOWN_TENANT', 'No such tenant', 404);

/**
 * The operators' tenant API on the gateway (bearer token, every call
 * audited; without `PARLEY_ADMIN_TOKEN` it does not exist): onboard a tenant
 * with its allowed origins and settings and get its first widget key; issue,
 * rotate and revoke keys (several live at once while pages change); rotate
 * the identity secret (shown once); offboard it. A gateway remembers a known
 * key for up to 30 s, so a revoked key stops working within that.
 *
 * - `PUT /admin/tenants/:id` (`If-None-Match: *`: create only), `GET`, `DELETE`
 * - `POST /admin/tenants/:id/widget-keys`, `DELETE /admin/tenants/:id/widget-keys/:key`
 * - `POST|DELETE /admin/tenants/:id/identity-secret`
 */
export async function tenantsRoute(
  app: FastifyInstance,
  { token, tenants, onChanged }: TenantsRouteOptions,
): Promise<void> {
  requireOperator(app, { token, codePrefix: 'GW' });
  // Every change (answered 2xx) invalidates this pod's caches, before the answer leaves.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'GET' && reply.statusCode < 300) onChanged?.();
    return payload;
  });

  app.put(
    '/admin/tenants/:id',
    {
      schema: {
        summary: 'Creates (201, with its first widget key) or updates a tenant',
        description:
          '`If-None-Match: *` creates only (409 `GW_ERR_TENANT_EXISTS`). Absent fields keep their value; a new tenant needs `allowedOrigins`.',
        params: tenantParams,
        body: putBody,
        response: {
          200: tenantAnswer,
          201: tenantAnswer.extend({ widgetKey: z.string() }),
        },
      },
    },
    async (request, reply) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      const body = parseInput(putBody, request.body ?? {}, BAD);
      const createOnly = request.headers['if-none-match'] === '*';
      try {
        const result = await tenants.put(id, body, { createOnly });
        return result.created
          ? reply.code(201).send({ tenant: result.tenant, widgetKey: result.widgetKey })
          : { tenant: result.tenant };
      } catch (err) {
        if (isStoreError(err, 'STORE_ERR_TENANT_EXISTS'))
          throw new ServiceError('GW_ERR_TENANT_EXISTS', err.message, 409);
        if (isStoreError(err, 'STORE_ERR_TENANT_DELETED'))
          throw new ServiceError('GW_ERR_TENANT_DELETED', err.message, 409);
        if (isStoreError(err, 'STORE_ERR_INVALID_SETTINGS'))
          throw new ServiceError(BAD, err.message, 400);
        throw err;
      }
    },
  );

  app.get(
    '/admin/tenants/:id',
    { schema: { summary: 'A tenant', params: tenantParams, response: { 200: tenantAnswer } } },
    async (request) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      const tenant = await tenants.get(id);
      if (!tenant) throw unknownTenant();
      return { tenant };
    },
  );

  app.delete(
    '/admin/tenants/:id',
    {
      schema: {
        summary: 'Offboards a tenant',
        params: tenantParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      if (!(await tenants.delete(id))) throw unknownTenant();
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/tenants/:id/widget-keys',
    {
      schema: {
        summary: 'Issues another widget key (several live at once while pages change)',
        params: tenantParams,
        body: emptyBody,
        response: {
          201: z.object({
            widgetKey: z
              .object({ key: z.string(), createdAt: z.string() })
              .describe('The new key, for the script tag, and when it was issued'),
          }),
        },
      },
    },
    async (request, reply) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      parseInput(emptyBody, request.body, BAD);
      const widgetKey = await tenants.issueKey(id);
      if (!widgetKey) throw unknownTenant();
      return reply.code(201).send({ widgetKey });
    },
  );

  app.delete(
    '/admin/tenants/:id/widget-keys/:key',
    {
      schema: {
        summary: 'Revokes a widget key (not the last: 409 `GW_ERR_LAST_WIDGET_KEY`)',
        params: keyParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      const { id, key } = parseInput(keyParams, request.params, BAD);
      const outcome = await tenants.revokeKey(id, key);
      if (outcome === 'unknown')
        throw new ServiceError(
          'GW_ERR_WIDGET_KEY_NOT_FOUND',
          'No such live key of this tenant',
          404,
        );
      if (outcome === 'last')
        throw new ServiceError(
          'GW_ERR_LAST_WIDGET_KEY',
          "This is the tenant's only live key: issue another first, or delete the tenant",
          409,
        );
      return reply.code(204).send();
    },
  );

  app.post(
    '/admin/tenants/:id/identity-secret',
    {
      schema: {
        summary: 'Rotates the identity secret that signs customer ids (shown once)',
        params: tenantParams,
        body: emptyBody,
        response: { 201: z.object({ identitySecret: z.string() }) },
      },
    },
    async (request, reply) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      parseInput(emptyBody, request.body, BAD);
      const identitySecret = await tenants.rotateIdentitySecret(id);
      if (!identitySecret) throw unknownTenant();
      return reply.code(201).header('cache-control', 'no-store').send({ identitySecret });
    },
  );

  app.delete(
    '/admin/tenants/:id/identity-secret',
    {
      schema: {
        summary: 'Removes the identity secret: customer ids are no longer verified',
        params: tenantParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      const { id } = parseInput(tenantParams, request.params, BAD);
      if (!(await tenants.removeIdentitySecret(id))) throw unknownTenant();
      return reply.code(204).send();
    },
  );
}
