import { describe, expect, it } from 'vitest';
import { MAX_REDACTED_CHARS, REDACTED, redactString, redactValue } from './redact.js';

const cpuMs = (fn: () => void) => {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

/**
 * Inputs that make a backtracking pattern rescan a long run from each of its
 * positions, one or more per pattern, 64,000 characters each (the size that
 * took 10.8 s before the patterns were anchored). Linear patterns scan them in
 * a few milliseconds; the bound is a hundred times that, so a slow machine
 * passes and a quadratic pattern (seconds) does not.
 */
const N = 64_000;
const ADVERSARIAL: Record<string, string> = {
  'e-mail: a long local part with no @': '1'.repeat(N),
  'e-mail: a long domain with no dot': `a@${'1'.repeat(N)}`,
  'e-mail: many one-letter labels': `a@${'a.'.repeat(N / 2)}1`,
  'e-mail: @ after every character': 'a@'.repeat(N / 2),
  'JWT: eyJ starting every word of one run': 'eyJ-'.repeat(N / 4),
  'JWT: a long first segment with no dot': `eyJ${'a'.repeat(N)}`,
  'JWT: a long second segment with no dot': `eyJaaaaa.${'a'.repeat(N)}`,
  'bearer token: long whitespace': `Bearer${' '.repeat(N)}!`,
  'API key prefixes over and over': 'sk-'.repeat(N / 3),
  'Google key prefix over and over': 'AIza'.repeat(N / 4),
  'card: digits separated by spaces': '1 '.repeat(N / 2),
  'card: digits separated by dashes': '4-'.repeat(N / 2),
  'international phone: long tail with no final digit': `+1${' '.repeat(N)}x`,
  'international phone: many plus signs': '+1 '.repeat(N / 3),
  'North-American phone: digit groups over and over': '555-'.repeat(N / 4),
};

describe('redactString under adversarial input', () => {
  for (const [name, input] of Object.entries(ADVERSARIAL)) {
    it(`is linear: ${name}`, () => {
      // Past the cap: what a log line gets.
      expect(cpuMs(() => redactString(input))).toBeLessThan(250);
      // Every pattern over the whole input, as if there were no cap.
      expect(cpuMs(() => redactString(input, Infinity))).toBeLessThan(250);
    });
  }

  it('cuts a long string at the cap and says how much was left out', () => {
    const out = redactString(`${'x'.repeat(MAX_REDACTED_CHARS)}visitor@example.com`);
    expect(out).toBe(`${'x'.repeat(MAX_REDACTED_CHARS)}…[19 more characters]`);
    expect(out).not.toContain('visitor@example.com');
    expect(redactString('x'.repeat(MAX_REDACTED_CHARS))).toBe('x'.repeat(MAX_REDACTED_CHARS));
  });

  it('still finds what it found before the patterns were anchored', () => {
    expect(redactString('mail visitor.name+tag@mail.example.co.uk now')).toBe(
      `mail ${REDACTED} now`,
    );
    expect(redactString('<jane@example.org>')).toBe(`<${REDACTED}>`);
    expect(redactString('token=eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl')).toBe(`token=${REDACTED}`);
    expect(redactString('Authorization: Bearer abc.def-ghi')).toBe(
      `Authorization: Bearer ${REDACTED}`,
    );
    expect(redactString('call +41 44 555 01 00 or (415) 555-0134')).toBe(
      `call ${REDACTED} or ${REDACTED}`,
    );
    expect(redactString('card 4111 1111 1111 1111.')).toBe(`card ${REDACTED}.`);
  });

  it('cuts long strings inside logged objects too', () => {
    const out = redactValue({ url: `/healthz?${'1'.repeat(16_000)}` }) as { url: string };
    expect(out.url.length).toBeLessThan(MAX_REDACTED_CHARS + 40);
  });
});
