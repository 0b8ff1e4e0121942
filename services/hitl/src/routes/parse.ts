import { ServiceError } from '@parley/service-kit';
import type { z } from 'zod';

/** The value if it fits the schema; otherwise a 400 HITL_ERR_INVALID naming each problem. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ServiceError(
      'HITL_ERR_INVALID',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      400,
    );
  return parsed.data;
}
