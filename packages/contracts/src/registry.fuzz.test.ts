import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzCorpus, hostileText } from '@parley/testing';
import { messageReceivedV1, replyGeneratedV1 } from './events.js';
import { EventRegistry } from './registry.js';

/**
 * Fuzzing the Kafka boundary: whatever bytes arrive on `conversation-events`,
 * decoding answers (never throws) with one of its outcomes, and a reason
 * that stays short (it is logged and dead-lettered, never the input itself).
 */
const registry = new EventRegistry([messageReceivedV1, replyGeneratedV1]);
const valid = registry.create(messageReceivedV1, {
  conversationId: 'c-1',
  tenantId: 't-1',
  payload: {
    message_id: 'm-1',
    client_message_id: 'x-1',
    visitor_id: 'v-1',
    channel: 'web',
    text: 'hello',
  },
});
const corpus = fuzzCorpus('envelopes');

function check(raw: string | Buffer): void {
  const decoded = registry.decode(raw);
  expect(['ok', 'invalid', 'unknown_type', 'newer_version']).toContain(decoded.kind);
  if (decoded.kind === 'invalid') expect(decoded.reason.length).toBeLessThan(600);
  if (decoded.kind === 'ok') expect(registry.decode(JSON.stringify(decoded.event)).kind).toBe('ok');
}

describe('EventRegistry.decode under fuzzing', () => {
  it('decodes the regression corpus without throwing', () => {
    for (const raw of corpus) check(raw);
    check(JSON.stringify(valid));
  });

  it('answers every mutated envelope, JSON value, string and byte sequence with an outcome', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText([valid], corpus),
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
        ),
        (raw) => check(raw),
      ),
      { numRuns: 2_000 },
    );
  });
});
