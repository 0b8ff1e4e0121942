import { ServiceError } from '@parley/service-kit';

/**
 * Every error code the AI service sends, with its HTTP status: the
 * operators' admin API (`/admin/*`). docs/operators/ai-models.md lists them;
 * they are a public contract.
 */
export const AiErrors = {
  // Fastify's own refusals on the module's routes (bad JSON, an unsupported
  // content type: 415 with the same code; too large a body), in both modes.
  AI_ERR_BAD_REQUEST: 400,
  AI_ERR_PAYLOAD_TOO_LARGE: 413,
  AI_ERR_UNAUTHORIZED: 401,
  AI_ERR_NOT_FOUND: 404,
  AI_ERR_UNKNOWN_PROVIDER: 400,
  AI_ERR_BAD_LOG_LEVEL: 400,
} as const;

export type AiErrorCode = keyof typeof AiErrors;

/** The prefix of {@link AiErrors}: fastify's refusals on the module's routes use it. */
export const AI_ERROR_PREFIX = 'AI';

/** A {@link ServiceError} with the catalogue's status for `code`. */
export function aiError(
  code: AiErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ServiceError {
  return new ServiceError(code, message, AiErrors[code], details ? { details } : {});
}
