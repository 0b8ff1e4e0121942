import type { z } from 'zod';

/**
 * Names the first problem zod found by its place and kind, never quoting
 * the input: unknown keys are counted, not named, and path segments (a
 * record's keys are the sender's) are cut short. At most 200 characters.
 */
export function describeIssue(error: z.ZodError, root: string): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: invalid`;
  const path = issue.path.map((p) => String(p).slice(0, 32)).join('.') || root;
  const what =
    issue.code === 'unrecognized_keys'
      ? `${issue.keys.length} unknown field${issue.keys.length === 1 ? '' : 's'}`
      : issue.message;
  return `${path.slice(0, 100)}: ${what}`.slice(0, 200);
}
