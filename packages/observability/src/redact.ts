/**
 * Scrubbing of secrets and personal data from anything that is about to be logged.
 *
 * Two nets: keys whose *name* says secret or personal (`apiKey`, `authorization`,
 * `email`, `phone`, `cardNumber`, ...) have their whole value replaced; and every
 * string value is searched for e-mail addresses, phone numbers (international,
 * North-American, or national with a trunk 0 as in the UK), card numbers
 * (Luhn-checked, so order ids survive), IBANs (mod-97 checked), US social
 * security and UK National Insurance numbers, birth dates (after words such as
 * "born" or "DOB"), bearer tokens, JWTs and well-known API key shapes.
 *
 * Every string goes through it before any other limit applies (fastify logs
 * each request's URL; the AI's answer cache screens each message), so it must
 * cost time linear in its input, whatever the input: at most
 * {@link MAX_REDACTED_CHARS} characters are kept (the rest is dropped, never
 * logged unscrubbed), and no pattern may rescan a long run of characters from
 * each of its positions. A pattern that starts with a repeated class is
 * anchored to the start of its run by a lookbehind for a character outside
 * that class, so each run is tried from one position only; see redact.test.ts
 * for each pattern under an adversarial input.
 */

export const REDACTED = '[REDACTED]';

/** The most characters of one string kept in a log line; the rest is cut off. */
export const MAX_REDACTED_CHARS = 4096;

const SENSITIVE_KEY =
  /pass(word|wd)?$|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key|^card|card[-_]?number|^pan$|cvv|cvc|ssn|e-?mail|phone|msisdn/i;

const STRING_PATTERNS: Array<[RegExp, string]> = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, REDACTED],
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{30,}/g, REDACTED],
  [/\b(?:xox[abp]|ghp|gho|github_pat)_[A-Za-z0-9_]{16,}/g, REDACTED],
  [/(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, REDACTED],
];

const CARD_CANDIDATE = /\b(?:\d[ -]?){12,18}\d\b/g;
const PHONE_INTERNATIONAL = /\+\d[\d\s().-]{6,}\d/g;
const PHONE_NANP = /\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b/g;
// A national number written with its trunk 0 (UK 07700 900123, 020 7946 0958; 10-11 digits).
const PHONE_NATIONAL = /(?<![\w+])0\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b/g;
// IBAN: country, check digits, then 11 to 30 letters and digits, grouped by 4 or not (mod-97 checked).
const IBAN = /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b/g;
// National ids: US social security numbers, UK National Insurance numbers.
const NATIONAL_ID =
  /\b(?:\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D])\b/g;
// A date after words that say it is someone's birth date.
const BIRTH_DATE =
  /\b(?:born(?: on)?|d\.?o\.?b\.?|date of birth|birth ?date|birthday)\b[:\s]{0,3}(?:(?:is|was|on)\s{1,3})?(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4}|[A-Za-z]{3,9} \d{1,2}(?:st|nd|rd|th)?,? \d{4})/gi;

/** Whether an IBAN candidate's check digits hold (ISO 13616: mod 97 of the rearranged number is 1). */
function ibanChecks(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '');
  if (iban.length < 15 || iban.length > 34) return false;
  let rest = 0;
  for (const c of iban.slice(4) + iban.slice(0, 4)) {
    const value = c >= 'A' ? c.charCodeAt(0) - 55 : c.charCodeAt(0) - 48;
    rest = (value > 9 ? rest * 100 + value : rest * 10 + value) % 97;
  }
  return rest === 1;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Replaces secrets and personal data found inside a free-text string, and
 * cuts it at `maxChars` characters.
 */
export function redactString(text: string, maxChars = MAX_REDACTED_CHARS): string {
  let out =
    text.length > maxChars
      ? `${text.slice(0, maxChars)}…[${text.length - maxChars} more characters]`
      : text;
  for (const [pattern, replacement] of STRING_PATTERNS) out = out.replace(pattern, replacement);
  out = out.replace(CARD_CANDIDATE, (m) => (luhn(m.replace(/\D/g, '')) ? REDACTED : m));
  out = out.replace(PHONE_INTERNATIONAL, (m) => (m.replace(/\D/g, '').length >= 8 ? REDACTED : m));
  out = out.replace(IBAN, (m) => (ibanChecks(m) ? REDACTED : m));
  out = out.replace(NATIONAL_ID, REDACTED);
  out = out.replace(BIRTH_DATE, REDACTED);
  out = out.replace(PHONE_NATIONAL, (m) => {
    const digits = m.replace(/\D/g, '').length;
    return digits === 10 || digits === 11 ? REDACTED : m;
  });
  return out.replace(PHONE_NANP, REDACTED);
}

/** Whether a property of this name holds a secret or personal datum. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

const MAX_DEPTH = 8;
const MAX_ITEMS = 100;

/**
 * Returns a scrubbed deep copy of `value` (objects, arrays and strings; other
 * primitives as they are). Only plain objects are walked, and depth and width
 * are bounded, so a huge or cyclic object can't stall logging.
 */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value))
    return value.slice(0, MAX_ITEMS).map((v) => redactValue(v, depth + 1, seen));
  if (value instanceof Error) return redactError(value);
  // Class instances (requests, sockets, buffers) are left to their serializers:
  // walking them would be slow and could follow references far outside the log line.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [key, v] of Object.entries(value)) {
    if (n++ >= MAX_ITEMS) break;
    out[key] =
      isSensitiveKey(key) && v !== undefined && v !== null
        ? REDACTED
        : redactValue(v, depth + 1, seen);
  }
  return out;
}

/** Serializes an error for logs with its message, stack and cause chain scrubbed. */
export function redactError(err: Error): Record<string, unknown> {
  const record: Record<string, unknown> = {
    type: err.name,
    message: redactString(err.message),
    stack: err.stack ? redactString(err.stack) : undefined,
  };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) record.code = code;
  if (err.cause instanceof Error) record.cause = redactError(err.cause);
  return record;
}
