import { EventRegistry, allEvents } from '@parley/contracts';
import { fuzzTarget, invariant } from '../harness.js';

const registry = new EventRegistry(allEvents);
const outcomes = new Set(['ok', 'invalid', 'unknown_type', 'newer_version']);

/**
 * Kafka messages on `conversation-events` (`EventRegistry.decode`), as the
 * raw bytes a consumer receives: one of four outcomes, a short reason for
 * the dead-letter topic, and a decoded event that decodes again.
 */
export const fuzz = fuzzTarget((data) => {
  const decoded = registry.decode(data);
  invariant(outcomes.has(decoded.kind), `an unknown outcome ${decoded.kind}`);
  if (decoded.kind === 'invalid') {
    invariant(decoded.reason.length < 600, `a reason of ${decoded.reason.length} characters`);
  }
  if (decoded.kind === 'ok') {
    invariant(
      registry.decode(JSON.stringify(decoded.event)).kind === 'ok',
      'a decoded event decodes again',
    );
  }
});
