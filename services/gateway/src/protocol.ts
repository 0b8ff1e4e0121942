/**
 * The gateway's boundary parsers, as pure functions: the body of a widget's
 * session request and the frames a widget sends on its socket
 * (docs/protocol.md). Each answers a result, never throws. And the tokens a
 * widget holds, signed and checked with the session secret.
 *
 * ```ts
 * import { parseClientFrame, parseSessionRequest } from '@parley/gateway/protocol';
 * const frame = parseClientFrame(text); // { ok: true, frame } | { ok: false, message }
 * const session = parseSessionRequest(JSON.parse(body)); // { ok: true, request } | { ok: false, message }
 * ```
 */
export { parseClientFrame, type ClientFrame } from './domain/frames.js';
export { parseSessionRequest, type SessionRequest } from './domain/session-request.js';
export { WidgetTokens, type SessionClaims, type VisitorClaims } from './domain/tokens.js';
