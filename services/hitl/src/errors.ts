import { ServiceError } from '@parley/service-kit';

/**
 * Every error code the hitl service sends, with its HTTP status: the agents'
 * API (`/v1/agent/*`) and the operators' agent admin (`/admin/tenants/…`).
 * docs/agents.md lists them; they are a public contract.
 */
export const HitlErrors = {
  // Fastify's own refusals on the module's routes (bad JSON, an unsupported
  // content type: 415 with the same code; too large a body), in both modes.
  HITL_ERR_BAD_REQUEST: 400,
  HITL_ERR_PAYLOAD_TOO_LARGE: 413,
  /** A body, path or query that does not fit its schema (each problem named). */
  HITL_ERR_INVALID: 400,
  /** No valid agent token or event-stream ticket; or no valid operator token. */
  HITL_ERR_UNAUTHORIZED: 401,
  HITL_ERR_BAD_CREDENTIALS: 401,
  /** No such handoff, conversation, callback or agent; single sign-on or the admin API off. */
  HITL_ERR_NOT_FOUND: 404,
  HITL_ERR_UNKNOWN_TENANT: 404,
  HITL_ERR_TAKEN: 409,
  HITL_ERR_CLOSED: 409,
  HITL_ERR_NOT_YOURS: 409,
  HITL_ERR_NO_HANDOFF: 409,
  HITL_ERR_EMAIL_TAKEN: 409,
  HITL_ERR_PASSWORD_REQUIRED: 400,
  HITL_ERR_RATE_LIMITED: 429,
  HITL_ERR_TOO_MANY_STREAMS: 429,
  HITL_ERR_UNAVAILABLE: 503,
} as const;

export type HitlErrorCode = keyof typeof HitlErrors;

/** The prefix of {@link HitlErrors}: fastify's refusals on the module's routes use it. */
export const HITL_ERROR_PREFIX = 'HITL';

/** A {@link ServiceError} with the catalogue's status for `code`. */
export function hitlError(
  code: HitlErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ServiceError {
  return new ServiceError(code, message, HitlErrors[code], details ? { details } : {});
}
