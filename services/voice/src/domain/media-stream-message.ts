import { z } from 'zod';
import { decodeMulaw } from './codec.js';

/** Twilio Media Streams' messages to us (https://www.twilio.com/docs/voice/media-streams/websocket-messages). */
const inbound = z.discriminatedUnion('event', [
  z.object({ event: z.literal('connected'), protocol: z.string(), version: z.string() }),
  z.object({
    event: z.literal('start'),
    sequenceNumber: z.string(),
    streamSid: z.string().min(1).max(64),
    start: z.object({
      streamSid: z.string(),
      callSid: z.string().min(1).max(64),
      accountSid: z.string().optional(),
      tracks: z.array(z.string()).optional(),
      customParameters: z.record(z.string(), z.string()).default({}),
      mediaFormat: z.object({
        encoding: z.literal('audio/x-mulaw'),
        sampleRate: z.literal(8000),
        channels: z.literal(1),
      }),
    }),
  }),
  z.object({
    event: z.literal('media'),
    sequenceNumber: z.string(),
    streamSid: z.string(),
    media: z.object({
      track: z.string().optional(),
      chunk: z.string(),
      timestamp: z.string(),
      payload: z.string().max(8_192),
    }),
  }),
  z.object({
    event: z.literal('mark'),
    streamSid: z.string(),
    mark: z.object({ name: z.string() }),
  }),
  z.object({
    event: z.literal('dtmf'),
    streamSid: z.string(),
    dtmf: z.object({ track: z.string().optional(), digit: z.string().regex(/^[0-9*#A-D]$/) }),
  }),
  z.object({
    event: z.literal('stop'),
    streamSid: z.string(),
    stop: z.object({ callSid: z.string() }).optional(),
  }),
]);

/** One message of a call's media stream, as Twilio sends it. */
export type MediaStreamEvent = z.infer<typeof inbound>;

/**
 * Parses one text message of a media stream; anything outside the protocol
 * is refused with a short reason (the stream is then closed), never thrown.
 */
export function parseMediaStreamMessage(
  text: string,
): { ok: true; event: MediaStreamEvent } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = inbound.safeParse(json);
  if (parsed.success) return { ok: true, event: parsed.data };
  // The place and kind of the problem only: record keys in the path are the sender's, cut short.
  const issue = parsed.error.issues[0];
  const path = issue?.path.map((p) => String(p).slice(0, 32)).join('.') || '(root)';
  return { ok: false, reason: `${path.slice(0, 100)}: ${issue?.code ?? 'invalid'}` };
}

/** A `media` message's payload (base64 8 kHz mu-law) as 16-bit PCM; stray characters are skipped. */
export function mediaPayloadPcm(payload: string): Int16Array {
  return decodeMulaw(new Uint8Array(Buffer.from(payload, 'base64')));
}
