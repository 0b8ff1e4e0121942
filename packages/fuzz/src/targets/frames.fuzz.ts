import { parseClientFrame } from '@parley/gateway/protocol';
import { fuzzTarget, invariant } from '../harness.js';

/**
 * The widget's WebSocket frames (`parseClientFrame`). `ws` hands the gateway
 * text frames as UTF-8; a valid frame must survive being written back, and a
 * refusal must stay short (it goes back to the widget in an error frame).
 */
export const fuzz = fuzzTarget((data) => {
  const parsed = parseClientFrame(data.toString('utf8'));
  if (parsed.ok) {
    invariant(parseClientFrame(JSON.stringify(parsed.frame)).ok, 'a parsed frame parses again');
    // Postgres text refuses U+0000: an accepted frame must be storable.
    invariant(
      Object.values(parsed.frame).every((v) => typeof v !== 'string' || !v.includes('\u0000')),
      'an accepted frame holds a NUL',
    );
  } else {
    invariant(parsed.message.length <= 300, `a refusal of ${parsed.message.length} characters`);
  }
});
