import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventRegistry, allEvents, messageReceivedV1 } from './index.js';

const registry = new EventRegistry(allEvents);
const payload = {
  message_id: 'm-1',
  client_message_id: 'c-1',
  visitor_id: 'v-1',
  channel: 'web' as const,
  text: 'hi',
};

function raw(overrides: Record<string, unknown>) {
  const event = registry.create(messageReceivedV1, {
    conversationId: 'conv-1',
    tenantId: 't-1',
    payload,
  });
  return JSON.stringify({ ...event, ...overrides });
}

describe('EventRegistry', () => {
  it('creates an envelope with id, version, time and validated payload', () => {
    const event = registry.create(messageReceivedV1, {
      conversationId: 'conv-1',
      tenantId: 't-1',
      payload,
    });
    expect(event).toMatchObject({
      type: 'message.received',
      schema_version: 1,
      conversation_id: 'conv-1',
      tenant_id: 't-1',
      payload,
    });
    expect(event.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(event.occurred_at)).not.toBeNaN();
  });

  it('refuses to create an event whose payload breaks its schema', () => {
    expect(() =>
      registry.create(messageReceivedV1, {
        conversationId: 'c',
        tenantId: 't',
        payload: { ...payload, text: '' },
      }),
    ).toThrow();
  });

  it('decodes a valid message', () => {
    const result = registry.decode(Buffer.from(raw({})));
    expect(result.kind).toBe('ok');
  });

  it('ignores envelope fields it does not know', () => {
    const result = registry.decode(raw({ added_later: { x: 1 } }));
    expect(result.kind).toBe('ok');
  });

  it('classifies garbage, bad envelopes and bad payloads as invalid with a reason', () => {
    expect(registry.decode('{nope')).toEqual({ kind: 'invalid', reason: 'not JSON' });
    expect(registry.decode(null)).toMatchObject({ kind: 'invalid' });
    expect(registry.decode(raw({ tenant_id: 'has spaces' }))).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('tenant_id'),
    });
    expect(registry.decode(raw({ payload: { ...payload, channel: 'fax' } }))).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('channel'),
    });
  });

  it('tells an unknown type from a newer version of a known one', () => {
    expect(registry.decode(raw({ type: 'survey.answered' }))).toMatchObject({
      kind: 'unknown_type',
    });
    expect(registry.decode(raw({ schema_version: 2 }))).toMatchObject({
      kind: 'newer_version',
      newestKnown: 1,
    });
  });

  it('decodes each registered version with its own schema and rejects retired ones', () => {
    const v2 = { type: 'message.received', version: 2, payload: z.object({ body: z.string() }) };
    const v3 = {
      type: 'message.received',
      version: 3,
      payload: z.object({ body: z.string(), lang: z.string() }),
    };
    const newer = new EventRegistry([v2, v3]);
    expect(newer.decode(raw({ schema_version: 2, payload: { body: 'x' } }))).toMatchObject({
      kind: 'ok',
    });
    expect(newer.decode(raw({ schema_version: 3, payload: { body: 'x' } }))).toMatchObject({
      kind: 'invalid',
    });
    expect(newer.decode(raw({}))).toMatchObject({
      kind: 'invalid',
      reason: 'message.received v1 is no longer supported',
    });
  });

  it('rejects a definition registered twice', () => {
    expect(() => new EventRegistry([messageReceivedV1, messageReceivedV1])).toThrow(
      /defined twice/,
    );
  });
});
