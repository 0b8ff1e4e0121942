import { ServiceError } from './errors.js';

/** A schema that validates without throwing (zod's `safeParse`; no zod dependency here). */
export interface SafeParser<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> };
      };
}

/**
 * Validates input at the boundary: the value when it fits the schema,
 * otherwise a 400 ServiceError with `code` naming each problem by its path
 * (`body` for the value itself).
 */
export function parseInput<T>(schema: SafeParser<T>, value: unknown, code: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ServiceError(
      code,
      parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`)
        .join('; '),
      400,
    );
  return parsed.data;
}
