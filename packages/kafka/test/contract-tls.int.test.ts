import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busContract } from '@parley/port-contracts';
import { makeTestCa, startKafkaBroker, type KafkaBroker, type TestCa } from '@parley/testing';
import {
  EventProducer,
  KafkaEventBus,
  createKafkaClient,
  ensureTopics,
  kafkaSecurity,
} from '../src/index.js';

/**
 * The bus contract over TLS with SCRAM-SHA-512, as MSK, Confluent Cloud and
 * Strimzi's TLS listeners are reached: a broker of the test's own with a
 * throwaway CA and a SCRAM user, the client configured from the variables.
 */
const topic = `bus-tls-${randomUUID().slice(0, 8)}`;
const user = { username: 'parley', password: `scram-${randomUUID()}` };
let ca: TestCa;
let broker: KafkaBroker;
const settings = () => ({
  kafkaTls: true,
  kafkaCaFile: ca.caFile,
  kafkaSaslMechanism: 'scram-sha-512' as const,
  kafkaSaslUsername: user.username,
  kafkaSaslPassword: user.password,
  kafkaOauthTokenFile: '',
});

beforeAll(async () => {
  ca = await makeTestCa();
  broker = await startKafkaBroker({ tls: ca, scram: user });
  const admin = createKafkaClient({
    brokers: [broker.tlsBrokers!],
    clientId: 'bus-tls-setup',
    security: kafkaSecurity(settings()),
  }).admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic, numPartitions: 12 },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ]);
  await admin.disconnect();
}, 150_000);
afterAll(async () => {
  await broker?.destroy();
  await ca?.destroy();
});

busContract('Kafka over TLS with SCRAM-SHA-512', async () => {
  const client = createKafkaClient({
    brokers: [broker.tlsBrokers!],
    clientId: 'bus-tls',
    security: kafkaSecurity(settings()),
  });
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

describe('the TLS listener', () => {
  const connects = async (security: ReturnType<typeof kafkaSecurity>) => {
    const admin = createKafkaClient({
      brokers: [broker.tlsBrokers!],
      clientId: 'bus-tls-refused',
      connectionTimeoutMs: 2_000,
      security,
    }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  it('refuses a wrong password, and a client that does not trust its CA', async () => {
    expect(await connects(kafkaSecurity(settings()))).toBe(true);
    expect(
      await connects(kafkaSecurity({ ...settings(), kafkaSaslPassword: 'not-the-password' })),
    ).toBe(false);
    // The system's CAs do not know the throwaway one: the certificate is checked.
    expect(await connects(kafkaSecurity({ ...settings(), kafkaCaFile: '' }))).toBe(false);
  }, 60_000);
});
