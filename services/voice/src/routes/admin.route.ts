import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema } from '@parley/contracts';
import { noContent, parseInput, requireOperator } from '@parley/service-kit';
import { E164, NumberTakenError, type PhoneNumbers } from '../adapters/phone-numbers.js';
import { VOICE_ERROR_PREFIX, voiceError, type VoiceErrorCode } from '../errors.js';

const params = z.object({ tenantId: idSchema });
const numberParams = z.object({
  tenantId: idSchema,
  number: z.string().regex(E164, 'an E.164 number such as +15550100'),
});

const INVALID = 'VOICE_ERR_INVALID' satisfies VoiceErrorCode;
const attached = z.object({ number: z.string(), tenantId: z.string() });

/** Whether `err` is Postgres refusing a row whose tenant does not exist. */
const unknownTenant = (err: unknown) => (err as { code?: string } | null)?.code === '23503';

/**
 * Operators' API for the tenants' phone numbers (bearer `PARLEY_ADMIN_TOKEN`,
 * every call audited): `GET /admin/tenants/:tenantId/phone-numbers`,
 * `PUT` and `DELETE /admin/tenants/:tenantId/phone-numbers/:number`.
 * A number belongs to one tenant; a tenant sees and changes only its own.
 */
export async function adminRoutes(
  app: FastifyInstance,
  options: { token: string; numbers: PhoneNumbers },
): Promise<void> {
  requireOperator(app, { token: options.token, codePrefix: VOICE_ERROR_PREFIX });

  app.get(
    '/admin/tenants/:tenantId/phone-numbers',
    {
      schema: {
        summary: "A tenant's phone numbers",
        params,
        response: {
          200: z.object({
            numbers: z.array(z.object({ number: z.string(), createdAt: z.string() })),
          }),
        },
      },
    },
    async (request) => {
      const { tenantId } = parseInput(params, request.params, INVALID);
      return { numbers: await options.numbers.list(tenantId) };
    },
  );

  app.put(
    '/admin/tenants/:tenantId/phone-numbers/:number',
    {
      schema: {
        summary: "Gives a number to a tenant (201 when new; 409 when it is another tenant's)",
        params: numberParams,
        response: { 200: attached, 201: attached },
      },
    },
    async (request, reply) => {
      const { tenantId, number } = parseInput(numberParams, request.params, INVALID);
      try {
        const created = await options.numbers.attach(tenantId, number);
        return reply.code(created ? 201 : 200).send({ number, tenantId });
      } catch (err) {
        if (err instanceof NumberTakenError) throw voiceError(err.code, err.message);
        if (unknownTenant(err)) throw voiceError('VOICE_ERR_NOT_FOUND', 'no such tenant');
        throw err;
      }
    },
  );

  app.delete(
    '/admin/tenants/:tenantId/phone-numbers/:number',
    {
      schema: {
        summary: 'Takes a number from a tenant',
        params: numberParams,
        response: { 204: noContent },
      },
    },
    async (request, reply) => {
      const { tenantId, number } = parseInput(numberParams, request.params, INVALID);
      if (!(await options.numbers.detach(tenantId, number)))
        throw voiceError('VOICE_ERR_NOT_FOUND', 'this tenant has no such number');
      return reply.code(204).send();
    },
  );
}
