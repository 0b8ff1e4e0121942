import type { Kafka } from 'kafkajs';
import type { Envelope } from '@parley/contracts';
import type { EventBus, SubscribeOptions, Subscription } from '@parley/ports';
import { EventConsumer, type ConsumerOptions } from './consumer.js';
import type { EventProducer } from './producer.js';

/** Consumer settings every subscription of a {@link KafkaEventBus} shares. */
export type KafkaBusConsumerDefaults = Omit<
  ConsumerOptions,
  'groupId' | 'registry' | 'handler' | 'producer' | 'fromBeginning'
>;

/**
 * The real {@link EventBus}: publishes through the idempotent acks=all
 * producer and subscribes with {@link EventConsumer} (manual commits,
 * retries, dead letters).
 */
export class KafkaEventBus implements EventBus {
  constructor(
    private readonly client: Kafka,
    private readonly producer: EventProducer,
    private readonly defaults: KafkaBusConsumerDefaults = {},
  ) {}

  /** Publishes to this bus's topic (the producer's own topic when the defaults name none). */
  async publish(event: Envelope): Promise<void> {
    await (this.defaults.topic
      ? this.producer.publish(event, this.defaults.topic)
      : this.producer.publish(event));
  }

  subscribe(options: SubscribeOptions): Subscription {
    return new EventConsumer(this.client, {
      ...this.defaults,
      groupId: options.groupId,
      registry: options.registry,
      fromBeginning: options.fromBeginning ?? false,
      producer: this.producer,
      handler: options.handler,
    });
  }
}
