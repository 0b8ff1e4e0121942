import { MAX_REDACTED_CHARS, redactString } from '@parley/observability';
import { fuzzTarget, invariant } from '../harness.js';

const PLANTED = 'visitor@example.com';

/**
 * The log redactor (`redactString`), which every request URL, log message and
 * answer-cache candidate goes through before any other limit. It must accept
 * any text, keep a log line within its cap, and never let an e-mail address
 * planted beside the input through, whatever surrounds it. A slow input (a
 * pattern rescanning a long run) is a finding through the runner's timeout.
 */
export const fuzz = fuzzTarget((data) => {
  const text = data.toString('utf8');
  const out = redactString(`${text} ${PLANTED} ${text}`);
  invariant(out.length <= MAX_REDACTED_CHARS + 40, `a line of ${out.length} characters`);
  invariant(!out.includes(PLANTED), 'the planted e-mail address got through');
  // The cap alone: the whole input, every pattern.
  redactString(text, Infinity);
});
