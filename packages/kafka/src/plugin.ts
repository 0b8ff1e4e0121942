import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import type { Admin, Kafka } from 'kafkajs';
import { CONVERSATION_EVENTS_TOPIC } from '@parley/contracts';
import type { Interceptor } from '@parley/ports';
import { createKafkaClient, ensureTopics } from './client.js';
import type { KafkaSecurity } from './security.js';
import type { ConsumerMetrics } from './consumer.js';
import { KafkaEventBus } from './kafka-bus.js';
import { EventProducer } from './producer.js';

declare module 'fastify' {
  interface FastifyInstance {
    kafka: KafkaHandle;
  }
}

/** What the kafka plugin decorates the app with. */
export interface KafkaHandle {
  client: Kafka;
  producer: EventProducer;
  /** The `EventBus` port over this client; callers start and stop its subscriptions. */
  bus: KafkaEventBus;
  /** An `EventBus` over another topic named in `extraTopics` (same client and producer). */
  busFor(topic: string): KafkaEventBus;
}

/** Options for {@link kafkaPlugin}. */
export interface KafkaPluginOptions {
  brokers: string[];
  clientId: string;
  /** The events topic (one Kafka cluster may serve several environments). @default 'conversation-events' */
  topic?: string;
  /** Partitions each consumer of the bus handles at once. @default 8 */
  consumerConcurrency?: number;
  /** Partitions of the topic when the plugin creates it. @default 24 */
  partitions?: number;
  /** @default 1 */
  replicationFactor?: number;
  /** @default 1 */
  minInsyncReplicas?: number;
  /** More topics this service uses (each with its dead letters), such as `knowledge-jobs`. */
  extraTopics?: string[];
  /**
   * Where every consumer of the plugin (its buses' subscriptions) reports its lag and handled messages: bind them with
   * `kafkaConsumerMetrics(registry)` from `@parley/observability`. The
   * `ParleyConsumerLag` alert and the AI and embedding HPAs read the lag.
   * Without it the consumers report none. (The embedded mode's in-process
   * bus has no Kafka lag: `scripts/start` exports no `kafka_consumer_lag`,
   * and nothing there scales or alerts on it; its handled-message series are the same.)
   */
  consumerMetrics?: ConsumerMetrics;
  /** Around every handler call of every consumer, outermost first (`busTracing()` of `@parley/observability`). */
  interceptors?: readonly Interceptor[];
  /** How often each consumer refreshes its lag (and at once when it joins its group). @default 15000 */
  consumerLagIntervalMs?: number;
  /** TLS and SASL to the brokers. */
  security?: KafkaSecurity;
  /**
   * Create missing topics (development, tests). Off, a missing topic stops
   * the start naming it: the setup job creates topics, pods do not. @default true
   */
  createTopics?: boolean;
}

async function kafka(app: FastifyInstance, options: KafkaPluginOptions): Promise<void> {
  const logger = app.log.child({ component: 'kafka' });
  const client = createKafkaClient({
    brokers: options.brokers,
    clientId: options.clientId,
    logger,
    ...(options.security ? { security: options.security } : {}),
  });
  const admin: Admin = client.admin();
  const eventsTopic = options.topic ?? CONVERSATION_EVENTS_TOPIC;
  const producer = new EventProducer(client, { topic: eventsTopic });

  await admin.connect();
  const topic = {
    numPartitions: options.partitions ?? 24,
    replicationFactor: options.replicationFactor ?? 1,
    minInsyncReplicas: options.minInsyncReplicas ?? 1,
  };
  const topics = [eventsTopic, ...(options.extraTopics ?? [])].flatMap((name) => [
    { topic: name, ...topic },
    { topic: `${name}.dlq`, ...topic },
  ]);
  if (options.createTopics ?? true) await ensureTopics(admin, topics, logger);
  else {
    const existing = new Set(await admin.listTopics());
    const missing = topics.map((t) => t.topic).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.disconnect();
      throw Object.assign(
        new Error(
          `Kafka topics missing: ${missing.join(', ')}. The setup job creates them (node dist/migrate.js in the chat image), or set PARLEY_KAFKA_CREATE_TOPICS=true`,
        ),
        { code: 'KAFKA_ERR_TOPIC_MISSING' },
      );
    }
  }
  const busDefaults = {
    logger,
    partitionsConsumedConcurrently: options.consumerConcurrency ?? 8,
    ...(options.consumerMetrics ? { metrics: options.consumerMetrics } : {}),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...(options.consumerLagIntervalMs ? { lagIntervalMs: options.consumerLagIntervalMs } : {}),
  };
  await producer.connect();

  app.decorate('kafka', {
    client,
    producer,
    bus: new KafkaEventBus(client, producer, { ...busDefaults, topic: eventsTopic }),
    busFor(name) {
      if (!options.extraTopics?.includes(name))
        throw new Error(`topic ${name} is not among the plugin's extraTopics`);
      return new KafkaEventBus(client, producer, { ...busDefaults, topic: name });
    },
  } satisfies KafkaHandle);
  app.ports.provide({ bus: app.kafka.bus, busFor: (name) => app.kafka.busFor(name) });

  // Shared by every pod of the region: an outage degrades the pod, it stays in its Service.
  app.readiness.add(
    'kafka',
    async () => {
      const cluster = await admin.describeCluster();
      return { brokers: cluster.brokers.length };
    },
    { shared: true },
  );
  app.addHook('onClose', async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
}

/**
 * Connects to Kafka while registering: creates `conversation-events` and its
 * dead-letter topic when missing, connects the producer, adds a readiness
 * check, provides `app.ports.bus` and `busFor`, and closes producer and admin on
 * close (the modules stop their own subscriptions first).
 */
export const kafkaPlugin = fp(kafka, { name: 'parley-kafka', fastify: '5.x' });
