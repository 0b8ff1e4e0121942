import { randomUUID } from 'node:crypto';
import { busContract } from '@parley/port-contracts';
import { infraEnv } from '@parley/testing';
import { EventProducer, KafkaEventBus, createKafkaClient, ensureTopics } from '../src/index.js';

/** A topic of this run's own: fresh groups read it from the beginning without anyone else's history. */
const topic = `bus-contract-${randomUUID().slice(0, 8)}`;
let created: Promise<void> | undefined;

busContract('Kafka', async () => {
  const client = createKafkaClient({ brokers: infraEnv().kafkaBrokers, clientId: 'bus-contract' });
  created ??= (async () => {
    const admin = client.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic, numPartitions: 12 },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ]);
    await admin.disconnect();
  })();
  await created;
  const producer = new EventProducer(client, { topic });
  await producer.connect();
  return {
    bus: new KafkaEventBus(client, producer, {
      topic,
      retry: { retryBackoffMs: 50 },
      sessionTimeoutMs: 10_000,
    }),
    close: () => producer.disconnect(),
  };
});
