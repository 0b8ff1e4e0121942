import { z } from 'zod';
import { idSchema } from '@parley/contracts';
import { describeIssue } from './issues.js';

/** The body of `POST /v1/widget/sessions`. Unknown fields are rejected. */
export const sessionRequestSchema = z.strictObject({
  widgetKey: z.string().min(1).max(128),
  visitorToken: z.string().min(1).max(2_048).optional(),
  conversationId: idSchema.optional(),
  /** The page's language (BCP 47, such as `de-CH`); conversations keep its primary subtag. */
  language: z
    .string()
    .max(35)
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'a BCP 47 language tag such as de-CH')
    .optional(),
  /** Who the customer is, signed by the tenant's server with its identity secret. */
  customer: z
    .strictObject({
      id: idSchema,
      signature: z.string().regex(/^[0-9a-f]{64}$/, 'hex HMAC-SHA256 of the id'),
    })
    .optional(),
});

/** A valid session request. */
export type SessionRequest = z.infer<typeof sessionRequestSchema>;

/**
 * Checks a session request's parsed JSON body; the error names the first
 * field that is wrong without echoing the input.
 */
export function parseSessionRequest(
  body: unknown,
): { ok: true; request: SessionRequest } | { ok: false; message: string } {
  const parsed = sessionRequestSchema.safeParse(body);
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, message: describeIssue(parsed.error, 'body') };
}
