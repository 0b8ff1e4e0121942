import type { Envelope } from '@parley/contracts';
import { createKafkaClient } from './client.js';
import type { KafkaLogger } from './logger.js';
import type { KafkaSecurity } from './security.js';
import { EventProducer } from './producer.js';

/** Options for {@link RegionPublisher}. */
export interface RegionPublisherOptions {
  /** The other region's brokers. */
  brokers: string[];
  clientId: string;
  /** @default 'conversation-events' */
  topic?: string;
  logger?: KafkaLogger;
  /** TLS and SASL to that region's brokers (the same variables as for this region's). */
  security?: KafkaSecurity;
}

/**
 * Publishes to another region's Kafka (the producer's guarantees: acks=all,
 * idempotent, keyed by conversation). Connects on first use and again after
 * a failed connection, so a region that is down costs nothing until it is
 * needed and is used again once it is back.
 */
export class RegionPublisher {
  private readonly producer: EventProducer;
  private connecting: Promise<void> | undefined;

  constructor(options: RegionPublisherOptions) {
    const kafka = createKafkaClient({
      brokers: options.brokers,
      clientId: options.clientId,
      connectionTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.security ? { security: options.security } : {}),
    });
    this.producer = new EventProducer(kafka, {
      ackTimeoutMs: 5_000,
      ...(options.topic ? { topic: options.topic } : {}),
    });
  }

  /** Connects now (at start, so that the first event does not wait for it); a failure is retried on use. */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async publish(event: Envelope): Promise<void> {
    await this.connect();
    await this.producer.publish(event);
  }

  async close(): Promise<void> {
    const connected = this.connecting;
    this.connecting = undefined;
    if (connected) await connected.then(() => this.producer.disconnect()).catch(() => undefined);
  }
}
