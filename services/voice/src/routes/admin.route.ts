import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema } from '@parley/contracts';
import { ServiceError, parseInput, requireOperator } from '@parley/service-kit';
import { E164, NumberTakenError, type PhoneNumbers } from '../adapters/phone-numbers.js';

const params = z.object({ tenantId: idSchema });
const numberParams = z.object({
  tenantId: idSchema,
  number: z.string().regex(E164, 'an E.164 number such as +15550100'),
});

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
  requireOperator(app, { token: options.token, codePrefix: 'VOICE' });

  app.get('/admin/tenants/:tenantId/phone-numbers', async (request) => {
    const { tenantId } = parseInput(params, request.params, 'VOICE_ERR_INVALID');
    return { numbers: await options.numbers.list(tenantId) };
  });

  app.put('/admin/tenants/:tenantId/phone-numbers/:number', async (request, reply) => {
    const { tenantId, number } = parseInput(numberParams, request.params, 'VOICE_ERR_INVALID');
    try {
      const created = await options.numbers.attach(tenantId, number);
      return reply.code(created ? 201 : 200).send({ number, tenantId });
    } catch (err) {
      if (err instanceof NumberTakenError) throw new ServiceError(err.code, err.message, 409);
      if (unknownTenant(err)) throw new ServiceError('VOICE_ERR_NOT_FOUND', 'no such tenant', 404);
      throw err;
    }
  });

  app.delete('/admin/tenants/:tenantId/phone-numbers/:number', async (request, reply) => {
    const { tenantId, number } = parseInput(numberParams, request.params, 'VOICE_ERR_INVALID');
    if (!(await options.numbers.detach(tenantId, number)))
      throw new ServiceError('VOICE_ERR_NOT_FOUND', 'this tenant has no such number', 404);
    return reply.code(204).send();
  });
}
