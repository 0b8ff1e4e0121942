/**
 * The error codes the status page and the operators' API answer with, and
 * their HTTP statuses. They are the gateway's documented codes
 * (docs/protocol.md): the page is served on the gateway, whose `GW` prefix
 * they keep (so do the operator check's `GW_ERR_UNAUTHORIZED` and
 * `GW_ERR_NOT_FOUND`, which `requireOperator` makes with that prefix).
 */
export const StatusPageErrors = {
  GW_ERR_BAD_REQUEST: 400,
  GW_ERR_RATE_LIMITED: 429,
  // The operators' API (/admin/*: incidents, probe results); not part of the widget protocol.
  GW_ERR_UNAUTHORIZED: 401,
  GW_ERR_INCIDENT_NOT_FOUND: 404,
  GW_ERR_INCIDENT_TEMPLATE: 400,
  GW_ERR_INCIDENT_RESOLVED: 409,
} as const;

export type StatusPageErrorCode = keyof typeof StatusPageErrors;
