/** Raised when a message could not be handled nor dead-lettered; the offset stays uncommitted. */
export class KafkaDeliveryError extends Error {
  readonly code = 'KAFKA_ERR_DELIVERY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaDeliveryError';
  }
}

/** Raised when the consumer is stopping while a message is still being retried. */
export class KafkaStoppingError extends Error {
  readonly code = 'KAFKA_ERR_STOPPING';
  constructor() {
    super('Consumer is stopping; the message will be delivered again after restart');
    this.name = 'KafkaStoppingError';
  }
}
