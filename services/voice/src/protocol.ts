/**
 * The voice service's boundary parsers, as pure functions: what a call's
 * Twilio media stream may send, checked before anything acts on it.
 *
 * ```ts
 * import { parseMediaStreamMessage, mediaPayloadPcm } from '@parley/voice/protocol';
 * const parsed = parseMediaStreamMessage(text); // { ok: true, event } | { ok: false, reason }
 * if (parsed.ok && parsed.event.event === 'media') mediaPayloadPcm(parsed.event.media.payload);
 * ```
 */
export {
  parseMediaStreamMessage,
  mediaPayloadPcm,
  type MediaStreamEvent,
} from './domain/media-stream-message.js';
