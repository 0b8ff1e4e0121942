import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import { CONVERSATION_EVENTS_TOPIC, type Envelope } from '@parley/contracts';
import { UnavailableError } from '@parley/ports';
import { injectTraceContext, tracer } from './tracing.js';

/** Where a published event landed. */
export interface PublishResult {
  partition: number;
  offset: string;
}

/** Options for {@link EventProducer}. */
export interface ProducerOptions {
  /** @default 'conversation-events' */
  topic?: string;
  /** Time the broker may take to replicate to all in-sync replicas. @default 10000 */
  ackTimeoutMs?: number;
}

/**
 * An idempotent producer that writes envelopes keyed by `conversation_id` with
 * `acks=all`, so a publish resolves only once every in-sync replica has the
 * event and a retried send is never written twice.
 */
export class EventProducer {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly ackTimeoutMs: number;

  constructor(kafka: Kafka, options: ProducerOptions = {}) {
    this.topic = options.topic ?? CONVERSATION_EVENTS_TOPIC;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
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
   * Publishes one event. The active trace context travels in the message
   * headers and in the envelope's `trace` field.
   */
  publish(event: Envelope, topic = this.topic): Promise<PublishResult> {
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
          const [meta] = await this.producer.send({
            topic,
            acks: -1,
            timeout: this.ackTimeoutMs,
            messages: [
              {
                key: event.conversation_id,
                value: JSON.stringify(traced),
                headers: {
                  ...headers,
                  'event-type': event.type,
                  'schema-version': String(event.schema_version),
                },
              },
            ],
          });
          if (!meta) throw new Error('Kafka returned no record metadata');
          const result = {
            partition: meta.partition,
            offset: meta.baseOffset ?? meta.offset ?? '-1',
          };
          span.setAttribute('messaging.kafka.destination.partition', result.partition);
          return result;
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw unavailableUnlessPermanent(err);
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
