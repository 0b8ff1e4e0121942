import { z } from 'zod';
import { cacheKey } from './keys.js';

/**
 * Live updates: what the chat and AI services publish on a conversation's
 * pub/sub channel for whichever gateway pods hold its sockets. Best effort:
 * storage is the truth, and a client that misses one resumes from its last
 * sequence number.
 */

/** The pub/sub channel of one conversation. */
export function conversationChannel(tenantId: string, conversationId: string): string {
  return cacheKey('conv', tenantId, conversationId);
}

/** A conversation's state as the widget shows it. */
export const conversationStateSchema = z.object({
  status: z.enum(['open', 'resolved']),
  /** Who answers: the AI assistant or a human agent. */
  handler: z.enum(['bot', 'agent']),
  /** Whether a handoff to a human is waiting for an agent. */
  handoff: z.enum(['none', 'waiting']),
  /** Sequence number of the newest stored message (0 when there is none). */
  lastSeq: z.number().int().min(0),
});

export type ConversationState = z.infer<typeof conversationStateSchema>;

/** A stored message as clients see it. */
export const storedMessageSchema = z.object({
  seq: z.number().int().positive(),
  messageId: z.string(),
  role: z.enum(['user', 'assistant', 'agent', 'system']),
  text: z.string(),
  clientMessageId: z.string(),
  createdAt: z.string(),
  /** The knowledge-base documents an assistant answer came from (when it used any). */
  sources: z.array(z.object({ title: z.string(), url: z.string().nullable() })).optional(),
});

export type StoredMessage = z.infer<typeof storedMessageSchema>;

export const liveUpdateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('message'),
    message: storedMessageSchema,
    /** When the user message this answers reached the gateway (end-to-end latency). */
    answersReceivedAt: z.string().optional(),
  }),
  z.object({ kind: z.literal('state'), state: conversationStateSchema }),
  z.object({
    kind: z.literal('typing'),
    /** Visitor typing goes to agents; assistant and agent typing to the widget. */
    role: z.enum(['visitor', 'assistant', 'agent']),
    active: z.boolean(),
  }),
  z.object({
    /** A piece of the assistant's answer as the model writes it; the stored message supersedes it. */
    kind: z.literal('delta'),
    /** The user message being answered (the stored answer's clientMessageId is `reply:<replyTo>`). */
    replyTo: z.number().int().positive(),
    /** 0, 1, 2, ... per answer, so that a client can tell a missed piece. */
    index: z.number().int().min(0),
    text: z.string().max(8_000),
  }),
  z.object({
    /** No person can take over now: the widget offers to leave a phone number or e-mail. */
    kind: z.literal('callback_offer'),
  }),
  z.object({
    /** The visitor's callback request is on record. */
    kind: z.literal('callback_saved'),
    ticketId: z.string().max(64),
  }),
  z.object({
    /** Where the conversation waits for a human: 1 = next; the wait estimate is null when unknown. */
    kind: z.literal('queue'),
    position: z.number().int().positive(),
    estimatedWaitSeconds: z.number().int().min(0).nullable(),
  }),
  z.object({
    /** The streamed answer to `replyTo` broke off: drop its pieces; a complete answer follows. */
    kind: z.literal('incomplete'),
    replyTo: z.number().int().positive(),
    reason: z.string().max(200),
  }),
]);

export type LiveUpdate = z.infer<typeof liveUpdateSchema>;
