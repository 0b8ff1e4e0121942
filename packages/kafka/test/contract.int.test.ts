import { busContract } from '@parley/ports/contract';
import { infraEnv } from '@parley/testing';
import { CONVERSATION_EVENTS_TOPIC } from '@parley/contracts';
import { EventProducer, KafkaEventBus, createKafkaClient, ensureTopics } from '../src/index.js';

busContract('Kafka', async () => {
  const client = createKafkaClient({ brokers: infraEnv().kafkaBrokers, clientId: 'bus-contract' });
  const admin = client.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: CONVERSATION_EVENTS_TOPIC, numPartitions: 24 },
    { topic: `${CONVERSATION_EVENTS_TOPIC}.dlq`, numPartitions: 24 },
  ]);
  await admin.disconnect();
  const producer = new EventProducer(client);
  await producer.connect();
  return {
    bus: new KafkaEventBus(client, producer, { retryBackoffMs: 50, sessionTimeoutMs: 10_000 }),
    close: () => producer.disconnect(),
  };
});
