import secureJson from 'secure-json-parse';
import { parseSessionRequest } from '@parley/gateway/protocol';
import { fuzzTarget, invariant } from '../harness.js';

/**
 * The body of `POST /v1/widget/sessions`: fastify's JSON body parser
 * (secure-json-parse, refusing `__proto__` and `constructor.prototype` as
 * fastify does by default), then `parseSessionRequest`. The body parser may
 * refuse with a SyntaxError (fastify answers 400); anything else is a finding.
 */
export const fuzz = fuzzTarget((data) => {
  let body: unknown;
  try {
    body = secureJson.parse(data.toString('utf8'), undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch (err) {
    if (err instanceof SyntaxError) return;
    throw err;
  }
  const parsed = parseSessionRequest(body);
  if (parsed.ok) {
    invariant(parseSessionRequest(parsed.request).ok, 'a parsed request parses again');
  } else {
    invariant(parsed.message.length <= 300, `a refusal of ${parsed.message.length} characters`);
  }
});
