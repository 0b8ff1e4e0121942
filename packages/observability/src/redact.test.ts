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
  'national phone: zeros over and over': '0'.repeat(N),
  'national phone: trunk groups over and over': '020 '.repeat(N / 4),
  'IBAN: country and check digits over and over': 'GB82 '.repeat(N / 5),
  'IBAN: one long run of letters and digits': `DE89${'A1'.repeat(N / 2)}`,
  'national id: NI-like groups over and over': 'AB 12 '.repeat(N / 6),
  'birth date: the words over and over': 'born on DOB: '.repeat(N / 13),
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

  // A corpus of personal data in the formats the answer cache must not keep, and look-alikes it may.
  const PERSONAL = [
    'my IBAN is GB82 WEST 1234 5698 7654 32',
    'pay to DE89370400440532013000 please',
    'IBAN: FR14 2004 1010 0505 0001 3M02 606',
    'my SSN is 078-05-1120',
    'NI number AB 12 34 56 C',
    'national insurance JG103759A',
    'Jane Doe, born on 12/03/1985',
    'DOB: 1985-03-12',
    'date of birth 3rd March 1985',
    'my birthday is March 3, 1985',
    'call me on 07700 900123',
    'our office: 020 7946 0958',
    'ring 0161 496 0000 after six',
    'mobile 07700900123',
    'UK +44 7700 900123',
  ];
  const NOT_PERSONAL = [
    'order 1234567890123 shipped',
    'took 2026-11-25T10:11:12.000Z',
    'version 10.1.11 of the package',
    'the blender costs 49.99 and ships in 3-5 days',
    'ticket GB82WEST12345698765433 is closed', // fails the IBAN check
    'model PB-2000, serial 0042',
    'opening hours 09:00 to 17:30',
    'room 123-45 on floor 6',
    'born to run, released 1975',
  ];

  it('finds personal data in the formats of the corpus', () => {
    for (const text of PERSONAL) expect(redactString(text), text).toContain(REDACTED);
  });

  it('leaves look-alikes that are not personal data as they are', () => {
    for (const text of NOT_PERSONAL) expect(redactString(text), text).toBe(text);
  });

  it('cuts long strings inside logged objects too', () => {
    const out = redactValue({ url: `/healthz?${'1'.repeat(16_000)}` }) as { url: string };
    expect(out.url.length).toBeLessThan(MAX_REDACTED_CHARS + 40);
  });
});
