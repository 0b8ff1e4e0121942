// The Kafka client, chosen by measurement: kafkajs (what @parley/kafka uses,
// the baseline) against @platformatic/kafka, on the local broker in one run.
// Each client does the same three things, and the bench reports CPU ms per
// record in the client (this process) and in the broker, and the ratio to kafkajs:
//   - one-record produces, awaited one after another (acks=all), as a
//     service answering one chat message publishes;
//   - produces of 100 records per request;
//   - a consumer group reading the batched records back, committing every
//     batch it is handed (as @parley/kafka's runner commits by interval).
// librdkafka (@confluentinc/kafka-javascript) is not in the run: its install
// downloads a prebuilt addon from GitHub, or builds librdkafka after downloading
// zlib, OpenSSL, zstd and curl from their sites, none of which this machine reaches.
// Needs `scripts/infra up`; loopback only, bounded by the counts below.
//   pnpm --filter @parley/bench kafka-clients [records=20000] [single=1000]
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import {
  Consumer as PConsumer,
  Producer as PProducer,
  ProduceAcks,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { infraEnv } from '@parley/testing';
import { cpuSnapshot, infraPids } from './lib/cpu.mjs';

const records = Math.min(Number(process.argv[2] ?? 20_000), 100_000);
const single = Math.min(Number(process.argv[3] ?? 1_000), 10_000);
const BATCH = 100;
const PARTITIONS = 12;
const brokers = infraEnv().kafkaBrokers;
const kafkaPid = infraPids().kafka;
if (!kafkaPid) throw new Error('no local Kafka: run scripts/infra up first');

const value = JSON.stringify({
  type: 'message.received.v1',
  tenant_id: 'bench',
  payload: { text: 'What are your opening hours on Sunday?', message_id: randomUUID() },
});

/** CPU ms of this process and of the broker while `fn` runs. */
async function measure(fn) {
  const before = process.cpuUsage();
  const broker = cpuSnapshot({ kafka: kafkaPid }).kafka;
  const started = performance.now();
  const extra = await fn();
  const used = process.cpuUsage(before);
  return {
    client: (used.user + used.system) / 1000,
    broker: cpuSnapshot({ kafka: kafkaPid }).kafka - broker,
    wallMs: performance.now() - started,
    ...extra,
  };
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function createTopic(name) {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: name, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

const clients = {
  kafkajs: {
    async producer() {
      const kafka = new Kafka({ brokers, clientId: 'bench-kafkajs', logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      return {
        send: (topic, messages) => producer.send({ topic, acks: -1, messages }),
        close: () => producer.disconnect(),
      };
    },
    async consume(topic, total) {
      const kafka = new Kafka({ brokers, clientId: 'bench-kafkajs', logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      let resolve;
      const done = new Promise((r) => (resolve = r));
      // Offsets committed every 50 ms for every partition at once, as @parley/kafka's runner does.
      const latest = new Map();
      const timer = setInterval(() => {
        if (latest.size === 0) return;
        const offsets = [...latest].map(([partition, offset]) => ({ topic, partition, offset }));
        latest.clear();
        consumer.commitOffsets(offsets).catch(() => undefined);
      }, 50);
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) JSON.parse(m.value.toString());
          seen += batch.messages.length;
          latest.set(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
          if (seen >= total) resolve();
        },
      });
      return {
        done,
        close: async () => {
          clearInterval(timer);
          await consumer.disconnect();
        },
      };
    },
  },
  '@platformatic/kafka': {
    async producer() {
      const producer = new PProducer({
        clientId: 'bench-platformatic',
        bootstrapBrokers: brokers,
        serializers: stringSerializers,
        acks: ProduceAcks.ALL,
      });
      return {
        send: (topic, messages) =>
          producer.send({ messages: messages.map((m) => ({ topic, key: m.key, value: m.value })) }),
        close: () => producer.close(),
      };
    },
    async consume(topic, total) {
      const consumer = new PConsumer({
        clientId: 'bench-platformatic',
        groupId: `bench-${randomUUID()}`,
        bootstrapBrokers: brokers,
        deserializers: stringDeserializers,
        maxWaitTime: 500,
      });
      // autocommit: the stream commits what was handed over every 50 ms.
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 50 });
      let seen = 0;
      let resolve;
      const done = new Promise((r) => (resolve = r));
      stream.on('data', (m) => {
        JSON.parse(m.value);
        if (++seen >= total) resolve();
      });
      return {
        done,
        close: async () => {
          await stream.close();
          await consumer.close();
        },
      };
    },
  },
};

const results = {};
for (const [name, client] of Object.entries(clients)) {
  const topic = `bench-clients-${randomUUID().slice(0, 8)}`;
  await createTopic(topic);
  const producer = await client.producer();
  // Warm the connection and metadata before measuring.
  for (let i = 0; i < 20; i++) await producer.send(topic, [{ key: `w-${i}`, value }]);

  const latencies = [];
  const one = await measure(async () => {
    for (let i = 0; i < single; i++) {
      const t = performance.now();
      await producer.send(topic, [{ key: `conv-${i % 50}`, value }]);
      latencies.push(performance.now() - t);
    }
  });
  latencies.sort((a, b) => a - b);
  const batched = await measure(async () => {
    for (let i = 0; i < records; i += BATCH) {
      const messages = [];
      for (let j = i; j < i + BATCH; j++) messages.push({ key: `conv-${j % 500}`, value });
      await producer.send(topic, messages);
    }
  });
  await producer.close();
  const total = single + records + 20;
  const consumed = await measure(async () => {
    const consumer = await client.consume(topic, total);
    await consumer.done;
    await consumer.close();
  });
  results[name] = {
    one: {
      client: one.client / single,
      broker: one.broker / single,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
    },
    batch: { client: batched.client / records, broker: batched.broker / records },
    consume: { client: consumed.client / total, broker: consumed.broker / total },
  };
}

const base = results.kafkajs;
const f = (n, d = 3) => n.toFixed(d);
console.log(
  `Kafka clients, ${single} one-record produces, ${records} records in batches of ${BATCH}, ${PARTITIONS} partitions (CPU ms per record; ratio = kafkajs / this)`,
);
for (const [name, r] of Object.entries(results)) {
  console.log(`${name}`);
  console.log(
    `  one-record produce  client ${f(r.one.client)}  broker ${f(r.one.broker)}  p50 ${f(r.one.p50, 2)} ms  p99 ${f(r.one.p99, 2)} ms  client ×${f(base.one.client / r.one.client, 2)}`,
  );
  console.log(
    `  batched produce     client ${f(r.batch.client)}  broker ${f(r.batch.broker)}  client ×${f(base.batch.client / r.batch.client, 2)}`,
  );
  console.log(
    `  group consume       client ${f(r.consume.client)}  broker ${f(r.consume.broker)}  client ×${f(base.consume.client / r.consume.client, 2)}`,
  );
}
