import { ServiceError } from '@parley/service-kit';

/**
 * Every error code the voice service sends, with its HTTP status: Twilio's
 * webhook (`/v1/voice/twilio/*`) and the operators' phone numbers
 * (`/admin/tenants/…/phone-numbers`). docs/voice.md lists them; they are a
 * public contract. (`VOICE_ERR_SPEECH_UNAVAILABLE` names a failed speech
 * request in the logs; no client is sent it.)
 */
export const VoiceErrors = {
  // Fastify's own refusals on the module's routes (bad JSON, an unsupported
  // content type: 415 with the same code; too large a body), in both modes.
  VOICE_ERR_BAD_REQUEST: 400,
  VOICE_ERR_PAYLOAD_TOO_LARGE: 413,
  VOICE_ERR_INVALID: 400,
  VOICE_ERR_UNAUTHORIZED: 401,
  VOICE_ERR_BAD_SIGNATURE: 403,
  VOICE_ERR_NOT_FOUND: 404,
  VOICE_ERR_NUMBER_TAKEN: 409,
} as const;

export type VoiceErrorCode = keyof typeof VoiceErrors;

/** The prefix of {@link VoiceErrors}: fastify's refusals on the module's routes use it. */
export const VOICE_ERROR_PREFIX = 'VOICE';

/** A {@link ServiceError} with the catalogue's status for `code`. */
export function voiceError(
  code: VoiceErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ServiceError {
  return new ServiceError(code, message, VoiceErrors[code], details ? { details } : {});
}
