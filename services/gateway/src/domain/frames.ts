import { z } from 'zod';
import { storableText, type ConversationState, type StoredMessage } from '@parley/contracts';
import type { GatewayErrorCode } from './errors.js';
import { describeIssue } from './issues.js';

const clientId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

/** Frames a widget sends. Unknown fields are rejected: the protocol is strict. */
export const clientFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resume'), afterSeq: z.number().int().min(0) }),
  z.strictObject({
    type: z.literal('message'),
    clientMessageId: clientId,
    text: storableText(4_000).refine((t) => t.trim().length > 0, 'must not be blank'),
  }),
  z.strictObject({ type: z.literal('typing'), active: z.boolean() }),
  z.strictObject({ type: z.literal('ping') }),
  z.strictObject({
    /** Leave a phone number or an e-mail address to be called back (after a `callback_offer`). */
    type: z.literal('callback'),
    phone: z
      .string()
      .max(32)
      .transform((p) => p.replace(/[\s().-]/g, ''))
      .pipe(z.string().regex(/^\+?[0-9]{7,15}$/, 'a phone number of 7 to 15 digits'))
      .optional(),
    email: z.string().email().max(254).optional(),
    note: storableText(500).optional(),
  }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** Frames the gateway sends. */
export type ServerFrame =
  | ({ type: 'state'; conversationId: string } & ConversationState)
  | ({ type: 'message' } & StoredMessage)
  | { type: 'ack'; clientMessageId: string; seq: number }
  | { type: 'typing'; role: 'assistant' | 'agent'; active: boolean }
  /** A piece of the answer to message `replyTo` as it is written; superseded by the stored answer. */
  | { type: 'delta'; replyTo: number; index: number; text: string }
  /** The streamed answer to `replyTo` broke off: drop its pieces; a complete answer follows. */
  | { type: 'incomplete'; replyTo: number; reason: string }
  /** The visitor's place in the queue for a human, and the estimated wait (null: unknown). */
  | { type: 'queue'; position: number; estimatedWaitSeconds: number | null }
  /** No person can take over now: offer to leave a phone number or e-mail for a callback. */
  | { type: 'callback_offer' }
  /** The callback request is on record (`ticketId` for the visitor's reference). */
  | { type: 'callback_saved'; ticketId: string }
  | { type: 'pong' }
  | {
      type: 'error';
      code: GatewayErrorCode;
      message: string;
      clientMessageId?: string;
      retryAfterMs?: number;
    };

/**
 * Parses one text frame; the error names what is wrong without echoing the
 * input, and carries the frame's `clientMessageId` when it has a valid one
 * (so a widget knows which of its messages was refused).
 */
export function parseClientFrame(
  data: string,
): { ok: true; frame: ClientFrame } | { ok: false; message: string; clientMessageId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, message: 'frame is not JSON' };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const message = `invalid frame: ${describeIssue(parsed.error, '(root)')}`;
  const id = clientId.safeParse((json as { clientMessageId?: unknown } | null)?.clientMessageId);
  return id.success ? { ok: false, message, clientMessageId: id.data } : { ok: false, message };
}
