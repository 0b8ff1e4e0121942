/**
 * An error whose code and status a client may see. Anything else that reaches
 * the error handler is answered as a generic 500 (`SVC_ERR_INTERNAL`).
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Extra fields safe to send to the client (e.g. `retryAfterMs`). */
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    statusCode = 400,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.statusCode = statusCode;
    this.details = options.details;
  }
}

/** Type guard for {@link ServiceError}, safe across package copies. */
export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    err.name === 'ServiceError' &&
    typeof (err as ServiceError).code === 'string' &&
    typeof (err as ServiceError).statusCode === 'number'
  );
}
