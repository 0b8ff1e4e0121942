import { z } from 'zod';

/** The one topic services talk over, keyed by `conversation_id`. */
export const CONVERSATION_EVENTS_TOPIC = 'conversation-events';

/** Ids chosen by us or by tenants: printable, bounded, safe in logs, keys and URLs. */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The envelope every event on `conversation-events` travels in. Fields a reader
 * does not know are ignored (forward compatibility), see VERSIONING.md.
 */
export const envelopeSchema = z.object({
  event_id: z.uuid(),
  type: z
    .string()
    .max(64)
    .regex(
      /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/,
      'dotted lower-case name such as message.received',
    ),
  schema_version: z.number().int().min(1).max(1_000),
  conversation_id: idSchema,
  tenant_id: idSchema,
  occurred_at: z.iso.datetime({ offset: true }),
  trace: z
    .object({
      traceparent: z.string().regex(TRACEPARENT).optional(),
      tracestate: z.string().max(512).optional(),
    })
    .default({}),
  payload: z.unknown(),
});

/** An envelope whose payload has not been checked yet. */
export type Envelope = z.infer<typeof envelopeSchema>;

/** An envelope whose payload matched its registered schema. */
export type Event<P = unknown> = Omit<Envelope, 'payload'> & { payload: P };
