import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { context, trace } from '@opentelemetry/api';
import type { Event } from '@parley/contracts';
import { busTracing, startTelemetry } from '@parley/observability';
import { eventually, infraEnv, uniqueName } from '@parley/testing';
import {
  EventConsumer,
  EventProducer,
  createKafkaClient,
  ensureTopics,
  type ConsumerOptions,
} from '../src/index.js';
import { registry, userMessage } from './events.js';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({
  serviceName: 'kafka-test',
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});

let kafka: Kafka;
let admin: Admin;
let producer: EventProducer;
const running: EventConsumer[] = [];

beforeAll(async () => {
  kafka = createKafkaClient({ brokers: infraEnv().kafkaBrokers, clientId: 'kafka-int-test' });
  admin = kafka.admin();
  await admin.connect();
  producer = new EventProducer(kafka);
  await producer.connect();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await telemetry.shutdown();
});

async function freshTopic(partitions = 6): Promise<string> {
  const topic = uniqueName('events');
  await ensureTopics(admin, [
    { topic, numPartitions: partitions },
    { topic: `${topic}.dlq`, numPartitions: partitions },
  ]);
  return topic;
}

const message = (conversationId: string, n: number) => userMessage('tenant-a', conversationId, n);

async function startConsumer(
  options: Omit<ConsumerOptions, 'producer' | 'registry'>,
): Promise<EventConsumer> {
  const consumer = new EventConsumer(kafka, {
    registry,
    producer,
    fromBeginning: true,
    retry: { retryBackoffMs: 20 },
    lagIntervalMs: 60_000,
    ...options,
  });
  running.push(consumer);
  await consumer.start();
  return consumer;
}

async function stopConsumer(consumer: EventConsumer): Promise<void> {
  running.splice(running.indexOf(consumer), 1);
  await consumer.stop();
}

/** Reads every message of a topic from the start with a throwaway group. */
async function readAll(topic: string, expected: number) {
  const seen: Array<{ key: string; value: string; headers: Record<string, string> }> = [];
  const reader = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 50 });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message: m }) => {
      const headers = Object.fromEntries(
        Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      seen.push({ key: String(m.key), value: String(m.value), headers });
    },
  });
  try {
    await eventually(() => (seen.length >= expected ? true : undefined), {
      timeoutMs: 20_000,
      what: `${expected} messages on ${topic}`,
    });
    return seen;
  } finally {
    await reader.disconnect();
  }
}

const payloadN = (event: Event) => Number((event.payload as { text: string }).text);

describe('EventProducer and EventConsumer on real Kafka', () => {
  it('keeps per-conversation order across partitions and across a consumer restart', async () => {
    const topic = await freshTopic(6);
    const conversations = Array.from({ length: 8 }, (_, i) => `conv-${i}`);
    const perConversation = 30;
    const seen = new Map<string, number[]>();
    const handler = async (event: Event) => {
      const list = seen.get(event.conversation_id) ?? [];
      list.push(payloadN(event));
      seen.set(event.conversation_id, list);
    };
    // Each round's eight publishes at once: they share produce requests.
    const sendHalf = async (from: number, to: number) => {
      for (let n = from; n < to; n++)
        await Promise.all(conversations.map((c) => producer.publish(message(c, n), topic)));
    };

    let consumer = await startConsumer({ groupId: uniqueName('order'), topic, handler });
    await sendHalf(0, perConversation / 2);
    await eventually(
      () => (total(seen) === conversations.length * (perConversation / 2) ? true : undefined),
      { timeoutMs: 20_000 },
    );
    const groupId = (consumer as unknown as { opts: { groupId: string } }).opts.groupId;
    await stopConsumer(consumer);

    await sendHalf(perConversation / 2, perConversation);
    consumer = await startConsumer({ groupId, topic, handler });
    await eventually(
      () => (total(seen) >= conversations.length * perConversation ? true : undefined),
      { timeoutMs: 20_000 },
    );

    const partitions = await admin.fetchTopicOffsets(topic);
    expect(partitions.filter((p) => Number(p.high) > 0).length).toBeGreaterThan(1);
    for (const c of conversations) {
      expect(seen.get(c)).toEqual(Array.from({ length: perConversation }, (_, i) => i));
    }
    // The same key always lands on the same partition.
    const byKey = await readAll(topic, conversations.length * perConversation);
    expect(byKey.every((m) => m.headers['event-type'] === 'message.received')).toBe(true);
  });

  it('sends events published while a request is out together in the next one, and fails only a record the broker refuses', async () => {
    const topic = await freshTopic(6);
    const own = new EventProducer(kafka);
    await own.connect();
    let requests = 0;
    const inner = (own as unknown as { producer: Producer }).producer;
    const counting = inner.on(inner.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'Produce') requests++;
    });
    try {
      const events = Array.from({ length: 60 }, (_, n) => message(`conv-batch-${n % 12}`, n));
      await Promise.all(events.map((e) => own.publish(e, topic)));
      // One request for the first event, then the rest in as few as the broker's answers allow.
      expect(requests).toBeGreaterThanOrEqual(2);
      expect(requests).toBeLessThanOrEqual(10);
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(60);

      // Over the broker's record size limit, in a batch with good ones: only it fails, for good.
      const huge = message('conv-batch-huge', 0);
      (huge.payload as { text: string }).text = 'x'.repeat(2_000_000);
      const outcomes = await Promise.allSettled([
        own.publish(message('conv-batch-a', 1), topic),
        own.publish(huge, topic),
        own.publish(message('conv-batch-b', 2), topic),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const refused = (outcomes[1] as PromiseRejectedResult).reason as Error;
      expect(refused.name).not.toBe('UnavailableError');
    } finally {
      counting();
      await own.disconnect();
    }
  });

  it('retries a failing handler, then dead-letters the message and moves on', async () => {
    const topic = await freshTopic(1);
    const attempts = new Map<number, number>();
    const handled: number[] = [];
    await startConsumer({
      groupId: uniqueName('retry'),
      topic,
      retry: { maxAttempts: 3 },
      handler: async (event, ctx) => {
        const n = payloadN(event);
        attempts.set(n, ctx.attempt);
        if (n === 1) throw Object.assign(new Error('store unavailable'), { code: 'STORE_DOWN' });
        if (n === 2 && ctx.attempt < 2) throw new Error('transient');
        handled.push(n);
      },
    });
    for (const n of [0, 1, 2, 3]) await producer.publish(message('conv-retry', n), topic);

    await eventually(() => (handled.length === 3 ? true : undefined), { timeoutMs: 20_000 });
    expect(handled).toEqual([0, 2, 3]);
    expect(attempts.get(1)).toBe(3);
    expect(attempts.get(2)).toBe(2);
    const [dead] = await readAll(`${topic}.dlq`, 1);
    expect(dead!.key).toBe('conv-retry');
    expect(JSON.parse(dead!.value).payload.text).toBe('1');
    expect(dead!.headers).toMatchObject({
      'dlq-reason-kind': 'handler_failed',
      'dlq-reason': 'STORE_DOWN: store unavailable',
      'dlq-source-topic': topic,
      'dlq-attempts': '3',
    });
  });

  it('dead-letters invalid and newer-version messages at once and skips unknown types', async () => {
    const topic = await freshTopic(1);
    const handled: string[] = [];
    const good = message('conv-mixed', 1);
    await producer.sendRaw(topic, { key: 'conv-mixed', value: '{not json' });
    await producer.sendRaw(topic, {
      key: 'conv-mixed',
      value: JSON.stringify({ ...good, event_id: crypto.randomUUID(), schema_version: 9 }),
    });
    await producer.sendRaw(topic, {
      key: 'conv-mixed',
      value: JSON.stringify({ ...good, event_id: crypto.randomUUID(), type: 'survey.answered' }),
    });
    await producer.publish(good, topic);
    const consumer = await startConsumer({
      groupId: uniqueName('mixed'),
      topic,
      handler: async (e) => void handled.push(e.event_id),
    });

    await eventually(() => (handled.length === 1 ? true : undefined), { timeoutMs: 20_000 });
    expect(handled).toEqual([good.event_id]);
    const dead = await readAll(`${topic}.dlq`, 2);
    expect(dead.map((d) => d.headers['dlq-reason-kind']).sort()).toEqual([
      'invalid',
      'newer_version',
    ]);
    expect(dead.every((d) => d.headers['dlq-attempts'] === '0')).toBe(true);
    await eventually(async () => ((await consumer.reportLag()).get(0) === 0 ? true : undefined), {
      what: 'lag 0',
    });
  });

  it('commits handled offsets on graceful stop so a restart neither skips nor reprocesses', async () => {
    const topic = await freshTopic(3);
    const groupId = uniqueName('restart');
    const handledIds: string[] = [];
    const handler = async (event: Event) => void handledIds.push(event.event_id);
    const sent: string[] = [];
    const send = async (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        const e = message(`conv-${n % 5}`, n);
        sent.push(e.event_id);
        await producer.publish(e, topic);
      }
    };

    const first = await startConsumer({ groupId, topic, handler });
    await send(0, 40);
    await eventually(() => (handledIds.length === 40 ? true : undefined), { timeoutMs: 20_000 });
    await stopConsumer(first);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)).toBe(
      40,
    );

    await send(40, 60);
    const second = await startConsumer({ groupId, topic, handler });
    await eventually(() => (handledIds.length >= 60 ? true : undefined), { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(handledIds).toHaveLength(60);
    expect(new Set(handledIds)).toEqual(new Set(sent));
    const lag = await second.reportLag();
    expect([...lag.values()].every((l) => l === 0)).toBe(true);
  });

  it('carries the W3C trace context from producer to a busTracing consumer span', async () => {
    const topic = await freshTopic(1);
    let consumerTraceId: string | undefined;
    await startConsumer({
      groupId: uniqueName('trace'),
      topic,
      interceptors: [busTracing('kafka')],
      handler: async () => {
        consumerTraceId = trace.getSpan(context.active())?.spanContext().traceId;
      },
    });
    const tracer = trace.getTracer('test');
    const producerTraceId = await tracer.startActiveSpan('request', async (span) => {
      await producer.publish(message('conv-trace', 1), topic);
      span.end();
      return span.spanContext().traceId;
    });
    await eventually(() => consumerTraceId, { timeoutMs: 20_000, what: 'consumer span' });
    expect(consumerTraceId).toBe(producerTraceId);
    const [raw] = await readAll(topic, 1);
    expect(raw!.headers.traceparent).toContain(producerTraceId);
    expect(JSON.parse(raw!.value).trace.traceparent).toContain(producerTraceId);
    expect(
      exporter
        .getFinishedSpans()
        .some((s) => s.name === `${topic} process` && s.spanContext().traceId === producerTraceId),
    ).toBe(true);
  });
});

describe('the kafkajs connection (patched: patches/kafkajs@2.2.4.patch)', () => {
  it('leaves an idle connection alone instead of rechecking its queue every millisecond', async () => {
    // kafkajs has no exports map: its request queue is reachable as a file.
    const { default: RequestQueue } = (await import(
      'kafkajs/src/network/requestQueue/index.js' as string
    )) as { default: { prototype: { checkPendingRequests(): void } } };
    const checks = vi.spyOn(RequestQueue.prototype, 'checkPendingRequests');
    const topic = await freshTopic(1);
    const raw = kafka.producer();
    await raw.connect();
    try {
      await raw.send({ topic, messages: [{ key: 'k', value: 'v' }] });
      checks.mockClear();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Nothing was sent, so nothing needed checking. Unpatched: about 300 checks per connection.
      expect(checks.mock.calls.length).toBeLessThan(20);
    } finally {
      checks.mockRestore();
      await raw.disconnect();
    }
  });
});

function total(seen: Map<string, number[]>): number {
  return [...seen.values()].reduce((sum, list) => sum + list.length, 0);
}
