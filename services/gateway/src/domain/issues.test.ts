import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeIssue } from './issues.js';

const schema = z.strictObject({
  name: z.string().max(3),
  tags: z.record(z.string(), z.number()),
});
const errorOf = (input: unknown) => {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected a refusal');
  return parsed.error;
};

describe('describeIssue', () => {
  it('names the field and what is wrong with it', () => {
    expect(describeIssue(errorOf({ name: 'long', tags: {} }), 'body')).toMatch(/^name: /);
  });

  it('counts unknown fields without quoting their names', () => {
    const key = 'x'.repeat(10_000);
    const message = describeIssue(errorOf({ name: 'a', tags: {}, [key]: 1, other: 2 }), 'body');
    expect(message).toBe('body: 2 unknown fields');
  });

  it("cuts the sender's record keys short and stays under 200 characters", () => {
    const key = 'k'.repeat(10_000);
    const message = describeIssue(errorOf({ name: 'a', tags: { [key]: 'not a number' } }), 'body');
    expect(message.startsWith(`tags.${'k'.repeat(32)}: `)).toBe(true);
    expect(message.length).toBeLessThanOrEqual(200);
  });
});
