import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode, context } from '@opentelemetry/api';
import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { CONVERSATION_EVENTS_TOPIC, type Event, type EventRegistry } from '@parley/contracts';
import { isPermanentError, isUnavailableError } from '@parley/ports';
import { KafkaDeliveryError, KafkaStoppingError } from './errors.js';
import { silentLogger, type KafkaLogger } from './logger.js';
import type { EventProducer } from './producer.js';
import { extractTraceContext, tracer } from './tracing.js';

/** What a handler learns about the message besides the event. */
export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  /** 1 on first delivery to the handler, then 2, 3, ... on in-process retries. */
  attempt: number;
  /** Aborted when the consumer stops: long work should give up and let the message be redelivered. */
  signal: AbortSignal;
}

/** Handles one decoded event. Throwing means "retry, then dead-letter". */
export type EventHandler = (event: Event, ctx: HandlerContext) => Promise<void>;

/** Cross-cutting work around every handler call (tracing, metrics, timing), outermost first. */
export type Interceptor = (
  event: Event,
  ctx: HandlerContext,
  next: () => Promise<void>,
) => Promise<void>;

/** The metrics the runner reports; bind it with `kafkaConsumerMetrics` from `@parley/observability`. */
export interface ConsumerMetrics {
  /**
   * Messages of a partition this member holds that it has not handled yet
   * (the partition's high watermark minus the group's committed offset).
   * Only the member holding a partition reports it, so a sum over the
   * group's members is the group's lag and a pod's sum is its own backlog.
   */
  lag(group: string, topic: string, partition: number, value: number): void;
  /** This member no longer holds the partition (rebalanced away, or stopped): forget its lag. */
  released(group: string, topic: string, partition: number): void;
  handled(
    group: string,
    topic: string,
    outcome: 'ok' | 'skipped' | 'dead_lettered',
    durationMs: number,
  ): void;
}

/** Options for {@link EventConsumer}. */
export interface ConsumerOptions {
  groupId: string;
  registry: EventRegistry;
  handler: EventHandler;
  /** Used to write dead letters. */
  producer: EventProducer;
  /** @default 'conversation-events' */
  topic?: string;
  /** @default `${topic}.dlq` */
  deadLetterTopic?: string;
  interceptors?: Interceptor[];
  /** Handler attempts before dead-lettering. @default 3 */
  maxAttempts?: number;
  /** First retry delay, doubled each time. @default 200 */
  retryBackoffMs?: number;
  /** Upper bound of a retry delay. @default 5000 */
  maxRetryBackoffMs?: number;
  /**
   * Upper bound of the delay between tries while the handler reports a
   * dependency unavailable (`UnavailableError`: retried without limit). @default 1000
   */
  maxUnavailableBackoffMs?: number;
  /** Start from the oldest message when the group has no committed offset. @default false */
  fromBeginning?: boolean;
  /** Partitions handled in parallel (order is kept within each). @default 4 */
  partitionsConsumedConcurrently?: number;
  /** Longest the broker holds a fetch open when no data is there: low for millisecond delivery. @default 50 */
  maxWaitTimeMs?: number;
  /**
   * How long the group waits for a silent member (a killed pod) before its
   * partitions go to the others. Long handlers keep beating. @default 10000
   */
  sessionTimeoutMs?: number;
  /** How often the lag gauge is refreshed (also at once on every group join). @default 15000 */
  lagIntervalMs?: number;
  /** Lag and handling metrics; without them the runner reports none (`reportLag` still answers). */
  metrics?: ConsumerMetrics;
  logger?: KafkaLogger;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped' | 'crashed';

/**
 * A consumer-group member that decodes each message with the registry and
 * commits its offset only after the message was handled, skipped (unknown
 * type) or dead-lettered (invalid, newer version, or failed every attempt).
 * See `@parley/contracts`' VERSIONING.md for the rules.
 */
export class EventConsumer {
  private readonly consumer: Consumer;
  private get heartbeatIntervalMs(): number {
    return Math.min(3_000, Math.floor(this.opts.sessionTimeoutMs / 3));
  }
  private readonly admin: Admin;
  private readonly opts: Required<Omit<ConsumerOptions, 'metrics' | 'interceptors'>> &
    Pick<ConsumerOptions, 'metrics' | 'interceptors'>;
  private readonly abort = new AbortController();
  private lagTimer: NodeJS.Timeout | undefined;
  private state: State = 'idle';
  /** Partitions of the topic this member holds, as of its last group join. */
  private assigned = new Set<number>();
  /** Partitions whose lag the metrics have, to release them when they move away. */
  private readonly reported = new Set<number>();
  /** The offset being handled per partition: a position where the group has committed none. */
  private readonly inFlight = new Map<number, bigint>();

  constructor(kafka: Kafka, options: ConsumerOptions) {
    const topic = options.topic ?? CONVERSATION_EVENTS_TOPIC;
    this.opts = {
      topic,
      deadLetterTopic: `${topic}.dlq`,
      maxAttempts: 3,
      retryBackoffMs: 200,
      maxRetryBackoffMs: 5_000,
      maxUnavailableBackoffMs: 1_000,
      fromBeginning: false,
      partitionsConsumedConcurrently: 4,
      maxWaitTimeMs: 50,
      sessionTimeoutMs: 10_000,
      lagIntervalMs: 15_000,
      logger: silentLogger,
      ...options,
    };
    if (this.opts.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
    if (this.opts.lagIntervalMs < 100) throw new RangeError('lagIntervalMs must be at least 100');
    this.consumer = kafka.consumer({
      groupId: this.opts.groupId,
      maxWaitTimeInMs: this.opts.maxWaitTimeMs,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
    });
    this.admin = kafka.admin();
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.opts.logger.error(
        { err: payload.error, groupId: this.opts.groupId, restart: payload.restart },
        'Consumer crashed',
      );
      if (!payload.restart) this.state = 'crashed';
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = new Set(payload.memberAssignment[this.opts.topic] ?? []);
      for (const partition of this.inFlight.keys())
        if (!this.assigned.has(partition)) this.inFlight.delete(partition);
      void this.reportLag();
    });
  }

  /** Whether the consumer is running (for readiness). */
  get healthy(): boolean {
    return this.state === 'running';
  }

  /** Joins the group and starts handling messages. */
  async start(): Promise<void> {
    await Promise.all([this.consumer.connect(), this.admin.connect()]);
    await this.consumer.subscribe({
      topic: this.opts.topic,
      fromBeginning: this.opts.fromBeginning,
    });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachMessage: ({ topic, partition, message, heartbeat }) =>
        this.process(topic, partition, message, heartbeat),
    });
    this.state = 'running';
    this.lagTimer = setInterval(() => void this.reportLag(), this.opts.lagIntervalMs).unref();
  }

  /**
   * Leaves the group: retries in progress are abandoned (their messages stay
   * uncommitted and will be delivered again), the message being handled
   * finishes and is committed, then the connections close.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    clearInterval(this.lagTimer);
    this.abort.abort();
    await this.consumer.disconnect();
    await this.admin.disconnect();
    this.assigned = new Set();
    this.release();
    this.state = 'stopped';
  }

  /**
   * The lag of each partition this member holds: its high watermark minus
   * the group's committed offset (where the group has committed none: minus
   * the offset being handled, else the low watermark when consuming from the
   * beginning, else none, as the member starts at the end). Also sent to the
   * metrics; partitions that moved to another member are released there.
   */
  async reportLag(): Promise<Map<number, number>> {
    const lags = new Map<number, number>();
    const assigned = this.assigned;
    try {
      const [committed, watermarks] = await Promise.all([
        this.admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.topic] }),
        this.admin.fetchTopicOffsets(this.opts.topic),
      ]);
      const byPartition = new Map(
        committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? [],
      );
      for (const w of watermarks) {
        if (!assigned.has(w.partition)) continue;
        const high = BigInt(w.high);
        const done = byPartition.get(w.partition) ?? -1n;
        const next =
          done >= 0n
            ? done
            : (this.inFlight.get(w.partition) ?? (this.opts.fromBeginning ? BigInt(w.low) : high));
        const lag = Number(high > next ? high - next : 0n);
        lags.set(w.partition, lag);
      }
    } catch (err) {
      if (this.state !== 'stopping' && this.state !== 'stopped')
        this.opts.logger.warn({ err, groupId: this.opts.groupId }, 'Could not read consumer lag');
      return lags;
    }
    // A join or a stop while the offsets were read: its own report is the one that counts.
    if (assigned !== this.assigned) return lags;
    this.release();
    for (const [partition, lag] of lags) {
      this.opts.metrics?.lag(this.opts.groupId, this.opts.topic, partition, lag);
      this.reported.add(partition);
    }
    return lags;
  }

  /** Forgets the lag of every reported partition this member no longer holds. */
  private release(): void {
    for (const partition of this.reported) {
      if (this.assigned.has(partition)) continue;
      this.opts.metrics?.released(this.opts.groupId, this.opts.topic, partition);
      this.reported.delete(partition);
    }
  }

  private async process(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    const started = performance.now();
    this.inFlight.set(partition, BigInt(message.offset));
    // kafkajs heartbeats only between messages: a long handler (a model's
    // answer) would outlive the session and be thrown out of the group. So
    // it beats while the handler works, and the session can stay short,
    // which is how fast a killed member's partitions move to the others.
    const beating = heartbeat
      ? setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatIntervalMs)
      : undefined;
    let outcome: Awaited<ReturnType<EventConsumer['decodeAndHandle']>>;
    try {
      outcome = await this.decodeAndHandle(topic, partition, message, heartbeat);
    } finally {
      clearInterval(beating);
    }
    const next = BigInt(message.offset) + 1n;
    await this.consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
    this.inFlight.set(partition, next);
    this.opts.metrics?.handled(this.opts.groupId, topic, outcome, performance.now() - started);
  }

  private async decodeAndHandle(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat?: () => Promise<void>,
  ): Promise<'ok' | 'skipped' | 'dead_lettered'> {
    const where = { groupId: this.opts.groupId, topic, partition, offset: message.offset };
    const decoded = this.opts.registry.decode(message.value);
    switch (decoded.kind) {
      case 'unknown_type':
        this.opts.logger.debug(
          { ...where, type: decoded.envelope.type },
          'Skipped event of unknown type',
        );
        return 'skipped';
      case 'invalid':
        await this.deadLetter(message, partition, 'invalid', decoded.reason, 0);
        return 'dead_lettered';
      case 'newer_version':
        await this.deadLetter(
          message,
          partition,
          'newer_version',
          `v${decoded.envelope.schema_version} > v${decoded.newestKnown}`,
          0,
        );
        return 'dead_lettered';
      case 'ok':
        return this.handleWithRetries(decoded.event, topic, partition, message, heartbeat);
    }
  }

  private async handleWithRetries(
    event: Event,
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat?: () => Promise<void>,
  ): Promise<'ok' | 'dead_lettered'> {
    const parent = extractTraceContext(message.headers, event.trace);
    let lastError: unknown;
    let waits = 0;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      if (this.abort.signal.aborted) throw new KafkaStoppingError();
      const ctx: HandlerContext = {
        topic,
        partition,
        offset: message.offset,
        attempt,
        signal: this.abort.signal,
      };
      try {
        await context.with(parent, () => this.traced(event, ctx));
        if (waits > 0)
          this.opts.logger.info(
            { groupId: this.opts.groupId, partition, offset: message.offset, waits },
            'Dependency back: handled after waiting',
          );
        return 'ok';
      } catch (err) {
        lastError = err;
        if (isUnavailableError(err) && !this.abort.signal.aborted) {
          // A dependency is down (Postgres failing over): wait and try again
          // without using up an attempt; the partition waits behind this event.
          if (waits++ % 20 === 0)
            this.opts.logger.warn(
              { err, groupId: this.opts.groupId, partition, offset: message.offset, waits },
              'Dependency unavailable: retrying',
            );
          const delay = Math.min(
            this.opts.maxUnavailableBackoffMs,
            this.opts.retryBackoffMs * 2 ** Math.min(waits - 1, 10),
          );
          await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
          // A rebalance shows here: rethrown, so this member stops working on a
          // partition that another member now owns.
          await heartbeat?.();
          attempt--;
          continue;
        }
        this.opts.logger.warn(
          {
            err,
            groupId: this.opts.groupId,
            partition,
            offset: message.offset,
            attempt,
            eventId: event.event_id,
          },
          'Handler failed',
        );
        if (isPermanentError(err)) break;
        if (attempt < this.opts.maxAttempts) {
          const delay = Math.min(
            this.opts.maxRetryBackoffMs,
            this.opts.retryBackoffMs * 2 ** (attempt - 1),
          );
          await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
        }
      }
    }
    if (this.abort.signal.aborted) throw new KafkaStoppingError();
    const reason =
      lastError instanceof Error
        ? `${(lastError as { code?: string }).code ?? lastError.name}: ${lastError.message}`
        : String(lastError);
    const kind = isPermanentError(lastError) ? 'permanent' : 'handler_failed';
    await this.deadLetter(message, partition, kind, reason, this.opts.maxAttempts);
    return 'dead_lettered';
  }

  private traced(event: Event, ctx: HandlerContext): Promise<void> {
    return tracer.startActiveSpan(
      `${ctx.topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.consumer.group.name': this.opts.groupId,
          'messaging.message.id': event.event_id,
        },
      },
      async (span) => {
        try {
          await this.chain(event, ctx);
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

  private chain(event: Event, ctx: HandlerContext): Promise<void> {
    const interceptors = this.opts.interceptors ?? [];
    const call = (i: number): Promise<void> => {
      const interceptor = interceptors[i];
      return interceptor
        ? interceptor(event, ctx, () => call(i + 1))
        : this.opts.handler(event, ctx);
    };
    return call(0);
  }

  private async deadLetter(
    message: KafkaMessage,
    partition: number,
    kind: string,
    reason: string,
    attempts: number,
  ): Promise<void> {
    const headers: Record<string, string> = {
      ...stringHeaders(message.headers),
      'dlq-reason-kind': kind,
      'dlq-reason': reason.slice(0, 1_000),
      'dlq-source-topic': this.opts.topic,
      'dlq-source-partition': String(partition),
      'dlq-source-offset': message.offset,
      'dlq-consumer-group': this.opts.groupId,
      'dlq-attempts': String(attempts),
    };
    try {
      await this.opts.producer.sendRaw(this.opts.deadLetterTopic, {
        key: message.key ? message.key.toString() : null,
        value: message.value,
        headers,
      });
    } catch (err) {
      throw new KafkaDeliveryError(
        `Could not dead-letter offset ${message.offset} of partition ${partition}`,
        { cause: err },
      );
    }
    this.opts.logger.warn(
      {
        groupId: this.opts.groupId,
        partition,
        offset: message.offset,
        kind,
        reason,
        deadLetterTopic: this.opts.deadLetterTopic,
      },
      'Message dead-lettered',
    );
  }
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}
