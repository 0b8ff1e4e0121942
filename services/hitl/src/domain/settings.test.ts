import { describe, expect, it } from 'vitest';
import { hitlSettingsSchema, queueFor } from './settings.js';

describe('queueFor', () => {
  const settings = hitlSettingsSchema.parse({
    routes: [
      { queue: 'billing', keywords: ['invoice', 'refund'] },
      { queue: 'tech', keywords: ['error', 'crash'] },
    ],
  });

  it('sends a handoff to the first route whose word the message mentions, case-insensitively', () => {
    expect(queueFor(settings, 'My INVOICE shows an error')).toBe('billing');
    expect(queueFor(settings, 'The app crashed again')).toBe('tech');
  });

  it('keeps everything else in the general queue', () => {
    expect(queueFor(settings, 'I want to talk to someone')).toBe('general');
    expect(queueFor({}, 'refund please')).toBe('general');
  });

  it('refuses settings it does not know or cannot route by', () => {
    expect(hitlSettingsSchema.safeParse({ assignment: 'random' }).success).toBe(false);
    expect(
      hitlSettingsSchema.safeParse({ routes: [{ queue: 'Bad Name', keywords: ['x1'] }] }).success,
    ).toBe(false);
    expect(hitlSettingsSchema.safeParse({ routes: [{ queue: 'ok', keywords: [] }] }).success).toBe(
      false,
    );
    expect(hitlSettingsSchema.safeParse({ surprise: true }).success).toBe(false);
  });
});
