import { z } from 'zod';
import { idSchema } from './envelope.js';
import type { EventDefinition } from './registry.js';

/** `message.received` v1: an end user's message, accepted by the gateway. */
export const messageReceivedV1 = {
  type: 'message.received',
  version: 1,
  payload: z.object({
    message_id: idSchema,
    /** The client's own id for the message, which makes resends idempotent. */
    client_message_id: idSchema,
    visitor_id: idSchema,
    channel: z.enum(['web', 'voice']),
    text: z.string().min(1).max(4_000),
  }),
} satisfies EventDefinition;

export type MessageReceivedV1 = z.infer<typeof messageReceivedV1.payload>;

/** Every event definition Parley knows, all versions. */
export const allEvents: readonly EventDefinition[] = [messageReceivedV1];
