/**
 * Every error code the gateway sends, in HTTP bodies and `error` frames.
 * docs/protocol.md lists them; they are a public contract.
 */
export const GatewayErrors = {
  GW_ERR_BAD_REQUEST: 400,
  GW_ERR_ORIGIN_REQUIRED: 403,
  GW_ERR_ORIGIN_FORBIDDEN: 403,
  GW_ERR_UNKNOWN_WIDGET_KEY: 401,
  GW_ERR_VISITOR_TOKEN_INVALID: 401,
  GW_ERR_SESSION_TOKEN_INVALID: 401,
  GW_ERR_CONVERSATION_FORBIDDEN: 403,
  GW_ERR_IDENTITY_INVALID: 401,
  GW_ERR_RATE_LIMITED: 429,
  GW_ERR_TOO_MANY_CONNECTIONS: 429,
  GW_ERR_NOT_FOUND: 404,
  GW_ERR_PAYLOAD_TOO_LARGE: 413,
  GW_ERR_BAD_FRAME: 400,
  GW_ERR_NOT_RESUMED: 409,
  GW_ERR_NO_CONVERSATION: 409,
  GW_ERR_UNAVAILABLE: 503,
  // The status page's operators' API (/admin/*) adds its own: @parley/status-page's errors.ts.
} as const;

export type GatewayErrorCode = keyof typeof GatewayErrors;
