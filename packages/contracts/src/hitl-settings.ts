import { z } from 'zod';

/** How a tenant's waiting handoffs reach agents. */
export const ASSIGNMENT_STRATEGIES = ['pooled', 'round_robin', 'least_busy', 'skills'] as const;
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];

/** A queue name: a skill such as `billing` (`general` takes everything else). */
export const queueNameSchema = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, 'lower-case letters, digits, _ and - (at most 64)');

/**
 * A tenant's handoff settings (`tenants.hitl_settings`, set through the admin
 * API): the assignment strategy, and routes that send a handoff to a skill's
 * queue when the message that triggered it mentions one of the route's words.
 */
export const hitlSettingsSchema = z.strictObject({
  assignment: z.enum(ASSIGNMENT_STRATEGIES).optional(),
  routes: z
    .array(
      z.strictObject({
        queue: queueNameSchema,
        keywords: z.array(z.string().trim().min(2).max(100)).min(1).max(50),
      }),
    )
    .max(50)
    .optional(),
});

export type HitlSettings = z.infer<typeof hitlSettingsSchema>;
