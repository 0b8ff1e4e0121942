import { ServiceError } from '@parley/service-kit';

/**
 * Every error code the knowledge API (the embedding service's
 * `/v1/knowledge/*`) sends, with its HTTP status.
 * docs/operators/knowledge-base.md lists them; they are a public contract.
 */
export const KnowledgeErrors = {
  // Fastify's own refusals on the module's routes (bad JSON, an unsupported
  // content type: 415 with the same code; a body over its limit), in both modes.
  EMB_ERR_BAD_REQUEST: 400,
  EMB_ERR_PAYLOAD_TOO_LARGE: 413,
  EMB_ERR_INVALID: 400,
  EMB_ERR_UNAUTHORIZED: 401,
  EMB_ERR_NOT_FOUND: 404,
  EMB_ERR_UNKNOWN_TENANT: 404,
  EMB_ERR_TOO_LARGE: 413,
  EMB_ERR_UNREADABLE: 422,
  EMB_ERR_EMPTY: 422,
} as const;

export type KnowledgeErrorCode = keyof typeof KnowledgeErrors;

/** The prefix of {@link KnowledgeErrors}: fastify's refusals on the module's routes use it. */
export const KNOWLEDGE_ERROR_PREFIX = 'EMB';

/** A {@link ServiceError} with the catalogue's status for `code`. */
export function knowledgeError(
  code: KnowledgeErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ServiceError {
  return new ServiceError(code, message, KnowledgeErrors[code], details ? { details } : {});
}
