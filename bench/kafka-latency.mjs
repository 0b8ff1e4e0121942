// Produce-to-handle latency of @parley/kafka's consumer runner on the local
// broker, against a baseline measured in the same run: a plain kafkajs consumer
// with kafkajs's default fetch wait (maxWaitTimeInMs 5000). Reports p50/p95 of
// both and their ratio. Needs `scripts/infra up`; loopback only, bounded.
//   pnpm --filter @parley/bench kafka-latency [messages=200]
import { EventRegistry, allEvents, messageReceivedV1 } from '@parley/contracts';
import { EventConsumer, EventProducer, createKafkaClient, ensureTopics } from '@parley/kafka';
import { infraEnv, uniqueName } from '@parley/testing';

const messages = Math.min(Number(process.argv[2] ?? 200), 2_000);
const gapMs = 20; // one message at a time, as a chat conversation sends them
const registry = new EventRegistry(allEvents);
const kafka = createKafkaClient({ brokers: infraEnv().kafkaBrokers, clientId: 'bench' });
const admin = kafka.admin();
await admin.connect();
const producer = new EventProducer(kafka);
await producer.connect();

async function run(label, startConsumer) {
  const topic = uniqueName('bench');
  await ensureTopics(admin, [
    { topic, numPartitions: 6 },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ]);
  const sentAt = new Map();
  const latencies = [];
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const onEvent = (eventId) => {
    latencies.push(performance.now() - sentAt.get(eventId));
    if (latencies.length === messages) resolveDone();
  };
  const stop = await startConsumer(topic, onEvent);
  await new Promise((r) => setTimeout(r, 1_000)); // let the group settle
  for (let i = 0; i < messages; i++) {
    const event = registry.create(messageReceivedV1, {
      conversationId: `conv-${i % 50}`,
      tenantId: 'bench',
      payload: {
        message_id: `m-${i}`,
        client_message_id: `c-${i}`,
        visitor_id: 'v',
        channel: 'web',
        text: 'hello',
      },
    });
    sentAt.set(event.event_id, performance.now());
    await producer.publish(event, topic);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  // Bounded: a lost message ends the run after 60 s instead of hanging it; unref'd so it
  // doesn't hold the process open once every message arrived.
  await Promise.race([done, new Promise((r) => setTimeout(r, 60_000).unref())]);
  await stop();
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const result = { label, received: latencies.length, p50: pct(50), p95: pct(95) };
  console.log(
    `${label.padEnd(34)} received ${result.received}/${messages}  p50 ${result.p50.toFixed(1)} ms  p95 ${result.p95.toFixed(1)} ms`,
  );
  return result;
}

const baseline = await run('baseline: kafkajs defaults', async (topic, onEvent) => {
  const consumer = kafka.consumer({ groupId: uniqueName('bench-base') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => onEvent(JSON.parse(String(message.value)).event_id),
  });
  return () => consumer.disconnect();
});
const parley = await run('@parley/kafka EventConsumer', async (topic, onEvent) => {
  const consumer = new EventConsumer(kafka, {
    groupId: uniqueName('bench-parley'),
    topic,
    registry,
    producer,
    fromBeginning: true,
    handler: async (event) => onEvent(event.event_id),
  });
  await consumer.start();
  return () => consumer.stop();
});

console.log(`ratio p50 parley/baseline: ${(parley.p50 / baseline.p50).toFixed(3)}`);
console.log(`ratio p95 parley/baseline: ${(parley.p95 / baseline.p95).toFixed(3)}`);
await producer.disconnect();
await admin.disconnect();
