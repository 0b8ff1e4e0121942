import { describe, expect, it } from 'vitest';
import { EventRegistry, messageReceivedV1 } from '@parley/contracts';
import { PermanentError, UnavailableError, type BusHandler } from './bus.js';
import {
  deliverer,
  type DeadLetterNote,
  type DelivererOptions,
  type Interceptor,
} from './delivery.js';

const registry = new EventRegistry([messageReceivedV1]);
const event = registry.create(messageReceivedV1, {
  conversationId: 'c1',
  tenantId: 'acme',
  payload: {
    message_id: 'm1',
    client_message_id: 'cm1',
    visitor_id: 'v1',
    channel: 'web',
    text: 'hi',
  },
});

function run(
  options: Partial<DelivererOptions> & { handler: BusHandler },
  value: string | null = JSON.stringify(event),
) {
  const letters: DeadLetterNote[] = [];
  const counted: string[] = [];
  const abort = new AbortController();
  const deliver = deliverer({
    groupId: 'g',
    topic: 'conversation-events',
    registry,
    policy: { retryBackoffMs: 1, maxUnavailableBackoffMs: 2 },
    metrics: { handled: (_g, _t, outcome) => counted.push(outcome) },
    ...options,
  });
  const outcome = deliver({
    value,
    partition: 3,
    offset: '42',
    signal: abort.signal,
    deadLetter: async (note) => void letters.push(note),
  });
  return { outcome, letters, counted, abort };
}

describe('deliverer', () => {
  it('hands the decoded event to the handler with where it came from', async () => {
    const seen: unknown[] = [];
    const { outcome, counted } = run({
      handler: async (e, ctx) =>
        void seen.push([
          e.event_id,
          ctx.groupId,
          ctx.topic,
          ctx.partition,
          ctx.offset,
          ctx.attempt,
        ]),
    });
    expect(await outcome).toBe('ok');
    expect(seen).toEqual([[event.event_id, 'g', 'conversation-events', 3, '42', 1]]);
    expect(counted).toEqual(['ok']);
  });

  it('runs interceptors around every attempt, outermost first', async () => {
    const calls: string[] = [];
    const tag =
      (name: string): Interceptor =>
      async (_e, ctx, next) => {
        calls.push(`${name}>${ctx.attempt}`);
        await next();
        calls.push(`${name}<${ctx.attempt}`);
      };
    const { outcome } = run({
      interceptors: [tag('outer'), tag('inner')],
      handler: async (_e, ctx) => {
        calls.push(`handler ${ctx.attempt}`);
        if (ctx.attempt === 1) throw new Error('transient');
      },
    });
    expect(await outcome).toBe('ok');
    expect(calls).toEqual([
      'outer>1',
      'inner>1',
      'handler 1',
      'outer>2',
      'inner>2',
      'handler 2',
      'inner<2',
      'outer<2',
    ]);
  });

  it('dead-letters after the last attempt, naming the error’s code', async () => {
    let attempts = 0;
    const { outcome, letters, counted } = run({
      policy: { maxAttempts: 2, retryBackoffMs: 1 },
      handler: async () => {
        attempts++;
        throw Object.assign(new Error('store down'), { code: 'STORE_DOWN' });
      },
    });
    expect(await outcome).toBe('dead_lettered');
    expect(attempts).toBe(2);
    expect(letters).toEqual([
      { kind: 'handler_failed', reason: 'STORE_DOWN: store down', attempts: 2 },
    ]);
    expect(counted).toEqual(['dead_lettered']);
  });

  it('dead-letters a permanent failure at once', async () => {
    let attempts = 0;
    const { outcome, letters } = run({
      handler: async () => {
        attempts++;
        throw new PermanentError('no such tenant');
      },
    });
    expect(await outcome).toBe('dead_lettered');
    expect(attempts).toBe(1);
    expect(letters[0]).toMatchObject({
      kind: 'permanent',
      reason: 'PermanentError: no such tenant',
    });
  });

  it('keeps retrying while a dependency is unavailable, without using up attempts', async () => {
    let calls = 0;
    const { outcome, letters } = run({
      policy: { maxAttempts: 1, retryBackoffMs: 1, maxUnavailableBackoffMs: 1 },
      handler: async (_e, ctx) => {
        calls++;
        expect(ctx.attempt).toBe(1);
        if (calls < 5) throw new UnavailableError('primary failing over', { code: 'DB_DOWN' });
      },
    });
    expect(await outcome).toBe('ok');
    expect(calls).toBe(5);
    expect(letters).toEqual([]);
  });

  it('skips an unknown type and dead-letters what it cannot decode', async () => {
    const unknown = run(
      { handler: async () => {} },
      JSON.stringify({ ...event, type: 'future.thing' }),
    );
    expect(await unknown.outcome).toBe('skipped');
    const garbage = run({ handler: async () => {} }, 'not json \u0000');
    expect(await garbage.outcome).toBe('dead_lettered');
    expect(garbage.letters).toEqual([{ kind: 'invalid', reason: 'not JSON', attempts: 0 }]);
    const newer = run({ handler: async () => {} }, JSON.stringify({ ...event, schema_version: 9 }));
    expect(await newer.outcome).toBe('dead_lettered');
    expect(newer.letters[0]).toMatchObject({ kind: 'newer_version', reason: 'v9 > v1' });
  });

  it('reports stopped, and neither dead-letters nor counts, when the subscription stops midway', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { outcome, letters, counted, abort } = run({
      handler: async () => {
        started();
        throw new Error('fails while stopping');
      },
    });
    await running;
    abort.abort();
    expect(await outcome).toBe('stopped');
    expect(letters).toEqual([]);
    expect(counted).toEqual([]);
  });
});
