import kafkajs, { type Admin, type Kafka, type ITopicConfig } from 'kafkajs';
import { kafkajsLogCreator, silentLogger, type KafkaLogger } from './logger.js';
import type { KafkaSecurity } from './security.js';

/** Options for {@link createKafkaClient}. */
export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger?: KafkaLogger;
  /** Time allowed to open a broker connection. @default 3000 */
  connectionTimeoutMs?: number;
  /** Time allowed for one request. @default 30000 */
  requestTimeoutMs?: number;
  /** TLS and SASL ({@link kafkaSecurity} builds them from the variables). */
  security?: KafkaSecurity;
}

/** A kafkajs client wired to our logger, with bounded connection retries. */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  return new kafkajs.Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: kafkajs.logLevel.WARN,
    logCreator: kafkajsLogCreator(options.logger ?? silentLogger),
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 5_000 },
    ...options.security,
  });
}

/** How a topic is created. */
export interface TopicOptions {
  topic: string;
  /** The design's topic has 24 (with replication factor 3, min ISR 2). @default 24 */
  numPartitions?: number;
  /** 3 in production; 1 on a single test broker. @default 1 */
  replicationFactor?: number;
  /** 2 in production. @default 1 */
  minInsyncReplicas?: number;
  /** Extra topic configs (`retention.ms`, ...). */
  configs?: Record<string, string>;
}

/** Errors of a topic just created by someone: its metadata is still spreading. */
const SETTLING = new Set([
  'TOPIC_ALREADY_EXISTS',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
]);

/** Retries `read` while the topic metadata is settling (at most ~10 s). */
async function settled<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      const type = (err as { type?: string }).type ?? '';
      if (attempt >= 40 || type === 'TOPIC_ALREADY_EXISTS' || !SETTLING.has(type)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Creates each topic that does not exist yet (idempotent; concurrent callers
 * are fine). An existing topic with fewer partitions than asked is reported,
 * not changed: adding partitions moves keys and breaks per-conversation order.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly TopicOptions[],
  logger: KafkaLogger = silentLogger,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t.topic))
    .map((t) => ({
      topic: t.topic,
      numPartitions: t.numPartitions ?? 24,
      replicationFactor: t.replicationFactor ?? 1,
      configEntries: Object.entries({
        'min.insync.replicas': String(t.minInsyncReplicas ?? 1),
        ...t.configs,
      }).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (err) {
      // Another process created it first; or (KRaft) the new topic's metadata has
      // not reached the broker that answered yet: the wait below covers both.
      if (!SETTLING.has((err as { type?: string }).type ?? '')) throw err;
    }
    logger.info({ topics: missing.map((t) => t.topic) }, 'Topics created');
  }
  const metadata = await settled(() =>
    admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) }),
  );
  for (const t of topics) {
    const found = metadata.topics.find((m) => m.name === t.topic);
    const want = t.numPartitions ?? 24;
    if (found && found.partitions.length < want) {
      logger.warn(
        { topic: t.topic, partitions: found.partitions.length, wanted: want },
        'Topic has fewer partitions than configured',
      );
    }
  }
}
