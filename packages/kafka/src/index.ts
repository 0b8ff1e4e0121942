/**
 * Kafka for Parley: `conversation-events` keyed by conversation, produced with
 * acks=all, consumed with manual commits, bounded retries and dead letters.
 *
 * ```ts
 * await app.register(kafkaPlugin, { brokers, clientId: 'chat' });
 * const subscription = app.ports.bus.subscribe({ groupId: 'chat', registry, handler });
 * await app.ports.bus.publish(registry.create(messageReceivedV1, { ... }));
 * ```
 */
export {
  createKafkaClient,
  ensureTopics,
  type KafkaClientOptions,
  type TopicOptions,
} from './client.js';
export { EventProducer, type ProducerOptions } from './producer.js';
export { kafkaSecurity, type KafkaSecurity, type KafkaSecuritySettings } from './security.js';
export { RegionPublisher, type RegionPublisherOptions } from './region-publisher.js';
export { EventConsumer, type ConsumerOptions, type ConsumerMetrics } from './consumer.js';
export { KafkaEventBus, type KafkaBusConsumerDefaults } from './kafka-bus.js';
export { kafkaPlugin, type KafkaHandle, type KafkaPluginOptions } from './plugin.js';
export { KafkaDeliveryError, KafkaStoppingError } from './errors.js';
export { injectTraceContext } from './tracing.js';
export type { KafkaLogger } from './logger.js';
