import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  createMetricsRegistry,
  kafkaConsumerMetrics,
  type Registry,
} from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually, infraEnv, uniqueName } from '@parley/testing';
import {
  EventConsumer,
  EventProducer,
  createKafkaClient,
  ensureTopics,
  kafkaPlugin,
} from '../src/index.js';
import { registry as events, userMessage } from './events.js';
/**
 * `kafka_consumer_lag` as the alert and the HPAs read it: per partition the
 * member holds, the high watermark minus the group's committed offset, rising
 * while the handler is held and back to 0 once it caught up; each member
 * reports only its own partitions, so the group's sum is not multiplied by
 * its members.
 */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const message = (conversationId: string, n: number) => userMessage('tenant-lag', conversationId, n);

/** A handler held until `open()`; counts what it handled. */
function heldHandler() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const state = { handled: 0, open };
  return {
    state,
    handler: async () => {
      await gate;
      state.handled++;
    },
  };
}

/** The group's `kafka_consumer_lag` samples in an exposition, by partition. */
function lagOf(exposition: string, group: string): Map<number, number> {
  const lags = new Map<number, number>();
  for (const [, labels, value] of exposition.matchAll(/^kafka_consumer_lag\{(.*)\} (\S+)$/gm)) {
    if (!labels!.includes(`group="${group}"`)) continue;
    const partition = /partition="(\d+)"/.exec(labels!)![1]!;
    lags.set(Number(partition), Number(value));
  }
  return lags;
}

const sum = (lags: Map<number, number>) => [...lags.values()].reduce((a, b) => a + b, 0);

describe('consumer lag on real Kafka', () => {
  it('shows on /metrics the messages a held consumer has not handled, then 0 once it caught up', async () => {
    const isolate = uniqueName('lag');
    const topic = `events-${isolate}`;
    const group = `group-${isolate}`;
    const metrics = createMetricsRegistry({ service: 'lag-test', processMetrics: false });
    const app = createApp({
      service: 'lag-test',
      logger: createLogger({ service: 'lag-test', level: 'silent' }),
      metrics,
    });
    cleanups.push(() => app.close());
    await app.register(kafkaPlugin, {
      brokers: infraEnv().kafkaBrokers,
      clientId: 'lag-test',
      topic,
      partitions: 3,
      consumerMetrics: kafkaConsumerMetrics(metrics),
      consumerLagIntervalMs: 200,
    });
    await app.ready();
    const { state, handler } = heldHandler();
    const subscription = app.kafka.bus.subscribe({
      groupId: group,
      registry: events,
      handler,
      fromBeginning: true,
    });
    cleanups.push(async () => {
      state.open();
      await subscription.stop();
    });
    await subscription.start();
    const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;

    // Joined: every partition is this member's, nothing behind yet.
    await expectEventually(async () => {
      expect(lagOf(await scrape(), group)).toEqual(
        new Map([
          [0, 0],
          [1, 0],
          [2, 0],
        ]),
      );
    });
    const sent = 30;
    for (let n = 0; n < sent; n++) await app.kafka.producer.publish(message(`conv-${n % 6}`, n));
    // The six conversations spread over more than one of the three partitions.
    const admin = app.kafka.client.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    expect(offsets.filter((o) => Number(o.high) > 0).length).toBeGreaterThan(1);

    // Held on the first message of each partition: all of them count as behind.
    await expectEventually(async () => expect(sum(lagOf(await scrape(), group))).toBe(sent));
    const exposition = await scrape();
    expect(exposition).toMatch(
      new RegExp(
        `^kafka_consumer_lag\\{group="${group}",topic="${topic}",partition="\\d",service="lag-test"\\} \\d+$`,
        'm',
      ),
    );

    state.open();
    await expectEventually(async () => {
      const lags = lagOf(await scrape(), group);
      expect(lags.size).toBe(3);
      expect(sum(lags)).toBe(0);
    });
    expect(state.handled).toBe(sent);
    expect(await scrape()).toMatch(
      new RegExp(
        `^kafka_messages_handled_total\\{group="${group}",.*outcome="ok".*\\} ${sent}$`,
        'm',
      ),
    );
  });

  it('reports each partition on the member holding it only, and moves it when that member leaves', async () => {
    const { kafkaBrokers } = infraEnv();
    const isolate = uniqueName('lag-group');
    const topic = `events-${isolate}`;
    const group = `group-${isolate}`;
    const kafka = createKafkaClient({ brokers: kafkaBrokers, clientId: 'lag-group-test' });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await ensureTopics(admin, [
      { topic, numPartitions: 4 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    const producer = new EventProducer(kafka, { topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const { state, handler } = heldHandler();
    const member = async (): Promise<{ consumer: EventConsumer; registry: Registry }> => {
      const registry = createMetricsRegistry({ service: 'lag-test', processMetrics: false });
      const consumer = new EventConsumer(kafka, {
        groupId: group,
        topic,
        registry: events,
        producer,
        handler,
        fromBeginning: true,
        sessionTimeoutMs: 10_000,
        lagIntervalMs: 200,
        metrics: kafkaConsumerMetrics(registry),
      });
      cleanups.push(() => consumer.stop());
      await consumer.start();
      return { consumer, registry };
    };
    cleanups.push(async () => state.open());
    const a = await member();
    const b = await member();
    const lags = async () => [
      lagOf(await a.registry.metrics(), group),
      lagOf(await b.registry.metrics(), group),
    ];

    // After the rebalance each member has its own partitions, none twice.
    await expectEventually(async () => {
      const [ofA, ofB] = await lags();
      expect(ofA!.size).toBeGreaterThan(0);
      expect(ofB!.size).toBeGreaterThan(0);
      expect([...ofA!.keys(), ...ofB!.keys()].sort()).toEqual([0, 1, 2, 3]);
    });
    const sent = 24;
    for (let n = 0; n < sent; n++) await producer.publish(message(`conv-${n % 8}`, n));
    await expectEventually(async () => {
      const [ofA, ofB] = await lags();
      expect(sum(ofA!) + sum(ofB!)).toBe(sent);
    });

    state.open();
    await expectEventually(async () => {
      const [ofA, ofB] = await lags();
      expect(ofA!.size + ofB!.size).toBe(4);
      expect(sum(ofA!) + sum(ofB!)).toBe(0);
    });
    expect(state.handled).toBe(sent);

    // b leaves: its series go, and a reports every partition.
    await b.consumer.stop();
    expect((await lags())[1]).toEqual(new Map());
    await expectEventually(
      async () => {
        expect((await lags())[0]).toEqual(
          new Map([
            [0, 0],
            [1, 0],
            [2, 0],
            [3, 0],
          ]),
        );
      },
      { timeoutMs: 30_000 },
    );
  });
});
