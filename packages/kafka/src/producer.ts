import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
import { CONVERSATION_EVENTS_TOPIC, type Envelope } from '@parley/contracts';
import { UnavailableError } from '@parley/ports';
import { injectTraceContext, tracer } from './tracing.js';

/** Options for {@link EventProducer}. */
export interface ProducerOptions {
  /** @default 'conversation-events' */
  topic?: string;
  /** Time the broker may take to replicate to all in-sync replicas. @default 10000 */
  ackTimeoutMs?: number;
  /** Most records in one produce request. @default 500 */
  maxBatch?: number;
}

interface Queued {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * An idempotent producer that writes envelopes keyed by `conversation_id` with
 * `acks=all`, so a publish resolves only once every in-sync replica has the
 * event and a retried send is never written twice.
 *
 * Publishes share produce requests: while one request is out, the events
 * published meanwhile wait and go together in the next (no linger timer, so
 * a lone event goes at once). A request costs about 350 µs of client CPU and
 * 200 µs of the broker's whatever it carries; a batch, about 40 µs a record.
 * Order per conversation holds: one request at a time, records in publish order.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly ackTimeoutMs: number;
  private readonly maxBatch: number;
  private readonly queue: Queued[] = [];
  private sending = false;

  constructor(kafka: Kafka, options: ProducerOptions = {}) {
    this.topic = options.topic ?? CONVERSATION_EVENTS_TOPIC;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /**
   * Publishes one event; resolves once every in-sync replica has it. The
   * active trace context travels in the message headers and in the
   * envelope's `trace` field.
   */
  publish(event: Envelope, topic = this.topic): Promise<void> {
    return tracer.startActiveSpan(
      `${topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.message.id': event.event_id,
        },
      },
      async (span) => {
        try {
          const headers = injectTraceContext();
          const traced: Envelope = { ...event, trace: { ...event.trace, ...headers } };
          await this.enqueue(topic, {
            key: event.conversation_id,
            value: JSON.stringify(traced),
            headers: {
              ...headers,
              'event-type': event.type,
              'schema-version': String(event.schema_version),
            },
          });
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  }

  /** Sends raw bytes (dead letters, tests of malformed input). */
  async sendRaw(
    topic: string,
    message: {
      key: string | null;
      value: Buffer | string | null;
      headers?: Record<string, string>;
    },
  ): Promise<void> {
    await this.producer.send({ topic, acks: -1, timeout: this.ackTimeoutMs, messages: [message] });
  }

  private enqueue(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  /** Sends what waits, a request at a time, until nothing does. */
  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) await this.send(this.queue.splice(0, this.maxBatch));
    } finally {
      this.sending = false;
    }
  }

  private async send(batch: Queued[]): Promise<void> {
    const topics = new Map<string, Message[]>();
    for (const q of batch) topics.set(q.topic, [...(topics.get(q.topic) ?? []), q.message]);
    try {
      await this.producer.sendBatch({
        acks: -1,
        timeout: this.ackTimeoutMs,
        topicMessages: [...topics].map(([topic, messages]) => ({ topic, messages })),
      });
      for (const q of batch) q.resolve();
    } catch (err) {
      const failure = unavailableUnlessPermanent(err);
      // The broker refused something in the batch for good (a record too
      // large): each on its own, so that only the one at fault fails for good.
      if (batch.length > 1 && !(failure instanceof UnavailableError)) {
        for (const q of batch) await this.send([q]);
        return;
      }
      for (const q of batch) q.reject(failure);
    }
  }
}

/** Broker answers that no retry changes: the event itself (or the topic) is wrong. */
const PERMANENT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

/**
 * A failed send is the broker being unreachable, restarting or electing a
 * leader unless the broker refused the event itself: an {@link UnavailableError},
 * so that a consumer publishing from its handler waits for Kafka instead of
 * dead-lettering an event it already half handled (a stored message whose
 * answer was never asked for).
 */
export function unavailableUnlessPermanent(err: unknown): unknown {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const { type, originalError, cause } = e as {
      type?: string;
      originalError?: unknown;
      cause?: unknown;
    };
    if (type && PERMANENT.has(type)) return err;
    e = originalError ?? cause;
  }
  return new UnavailableError(`Kafka did not take the event: ${(err as Error)?.message ?? err}`, {
    code: 'KAFKA_ERR_UNAVAILABLE',
    cause: err,
  });
}
