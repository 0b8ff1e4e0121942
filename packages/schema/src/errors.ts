/** Stable codes of the schema's errors. */
export type SchemaErrorCode = 'SCHEMA_ERR_MIGRATION_CHANGED';

/** An error applying the schema, with a stable code. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly code: SchemaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** True for a {@link SchemaError} (optionally with this code), also across package copies. */
export function isSchemaError(err: unknown, code?: SchemaErrorCode): err is SchemaError {
  return (
    err instanceof Error &&
    err.name === 'SchemaError' &&
    (code === undefined || (err as SchemaError).code === code)
  );
}
