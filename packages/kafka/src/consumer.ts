import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { CONVERSATION_EVENTS_TOPIC, type EventRegistry } from '@parley/contracts';
import {
  deliverer,
  type BusHandler,
  type DeadLetterNote,
  type DeliveryMetrics,
  type InboundEvent,
  type Interceptor,
  type RetryPolicy,
} from '@parley/ports';
import { KafkaDeliveryError, KafkaStoppingError } from './errors.js';
import { silentLogger, type KafkaLogger } from './logger.js';
import type { EventProducer } from './producer.js';

/** The metrics the runner reports; bind it with `kafkaConsumerMetrics` from `@parley/observability`. */
export interface ConsumerMetrics extends DeliveryMetrics {
  /**
   * Messages of a partition this member holds that it has not handled yet
   * (the partition's high watermark minus the group's committed offset).
   * Only the member holding a partition reports it, so a sum over the
   * group's members is the group's lag and a pod's sum is its own backlog.
   */
  lag(group: string, topic: string, partition: number, value: number): void;
  /** This member no longer holds the partition (rebalanced away, or stopped): forget its lag. */
  released(group: string, topic: string, partition: number): void;
}

/** Options for {@link EventConsumer}. */
export interface ConsumerOptions {
  groupId: string;
  registry: EventRegistry;
  handler: BusHandler;
  /** Used to write dead letters. */
  producer: EventProducer;
  /** @default 'conversation-events' */
  topic?: string;
  /** @default `${topic}.dlq` */
  deadLetterTopic?: string;
  /** Around every handler call (tracing), outermost first. */
  interceptors?: readonly Interceptor[];
  /** Retries (`DEFAULT_RETRY_POLICY` of `@parley/ports` for what is not given). */
  retry?: Partial<RetryPolicy>;
  /** Start from the oldest message when the group has no committed offset. @default false */
  fromBeginning?: boolean;
  /** Partitions handled in parallel (order is kept within each). @default 4 */
  partitionsConsumedConcurrently?: number;
  /**
   * Longest the broker holds a fetch open when no data is there. A record
   * ends the wait at once (bench/kafka-latency.mjs: p50 1.2 ms at 50 and at
   * 500); a longer wait only means fewer idle fetches, and a rebalance or stop
   * noticed up to this much later. @default 500
   */
  maxWaitTimeMs?: number;
  /**
   * How long the group waits for a silent member (a killed pod) before its
   * partitions go to the others. Long handlers keep beating. @default 10000
   */
  sessionTimeoutMs?: number;
  /** How often the lag gauge is refreshed (also at once on every group join). @default 15000 */
  lagIntervalMs?: number;
  /**
   * Handled offsets are committed together, every partition in one request,
   * at most this long after the message was handled (0: each at once). A
   * crash loses at most this much of the commits: those messages are
   * delivered again (at least once), and the handlers drop what they have
   * seen. @default 50
   */
  commitIntervalMs?: number;

  /** Lag and handling metrics; without them the runner reports none (`reportLag` still answers). */
  metrics?: ConsumerMetrics;
  logger?: KafkaLogger;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped' | 'crashed';

/**
 * A consumer-group member that delivers each message with `deliverer` from
 * `@parley/ports` (the same delivery as the in-process bus) and commits its
 * offset only after the message was handled, skipped (unknown type) or
 * dead-lettered (invalid, newer version, or failed every attempt). See
 * `@parley/contracts`' VERSIONING.md for the rules.
 */
export class EventConsumer {
  private readonly consumer: Consumer;
  private get heartbeatIntervalMs(): number {
    return Math.min(3_000, Math.floor(this.opts.sessionTimeoutMs / 3));
  }
  private readonly admin: Admin;
  private readonly opts: Required<
    Omit<ConsumerOptions, 'metrics' | 'interceptors' | 'retry' | 'handler' | 'registry'>
  > &
    Pick<ConsumerOptions, 'metrics'>;
  private readonly deliver: (event: InboundEvent) => Promise<unknown>;
  private readonly abort = new AbortController();
  private lagTimer: NodeJS.Timeout | undefined;
  private state: State = 'idle';
  /** Partitions of the topic this member holds, as of its last group join. */
  private assigned = new Set<number>();
  /** Partitions whose lag the metrics have, to release them when they move away. */
  private readonly reported = new Set<number>();
  /** The offset being handled per partition: a position where the group has committed none. */
  private readonly inFlight = new Map<number, bigint>();
  /** Offsets handled but not yet committed, by partition: the next commit sends them all. */
  private readonly pending = new Map<number, bigint>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  /** Messages being handled now, and who waits for there to be none (stop). */
  private active = 0;
  private readonly idle = new Set<() => void>();
  private readonly registry: EventRegistry;

  constructor(kafka: Kafka, options: ConsumerOptions) {
    const topic = options.topic ?? CONVERSATION_EVENTS_TOPIC;
    this.opts = {
      topic,
      deadLetterTopic: `${topic}.dlq`,
      fromBeginning: false,
      partitionsConsumedConcurrently: 4,
      maxWaitTimeMs: 500,
      sessionTimeoutMs: 10_000,
      lagIntervalMs: 15_000,
      commitIntervalMs: 50,
      logger: silentLogger,
      ...options,
    };
    this.registry = options.registry;
    this.deliver = deliverer({
      groupId: this.opts.groupId,
      topic,
      registry: options.registry,
      handler: options.handler,
      ...(options.interceptors ? { interceptors: options.interceptors } : {}),
      ...(options.retry ? { policy: options.retry } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      logger: this.opts.logger,
    });
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
      // Another member has these now, from the group's last commit: it handles them again.
      for (const partition of this.pending.keys())
        if (!this.assigned.has(partition)) this.pending.delete(partition);
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
    // The messages in hand finish (or give up: redelivered), the handled
    // offsets are committed while still a member, then it leaves.
    while (this.active > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    await this.flush();
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
    // Stopping: nothing new starts; the message stays uncommitted and is delivered again.
    if (this.state === 'stopping' || this.state === 'stopped') throw new KafkaStoppingError();
    this.active++;
    try {
      await this.handleMessage(topic, partition, message, heartbeat);
    } finally {
      if (--this.active === 0) {
        for (const wake of this.idle) wake();
        this.idle.clear();
      }
    }
  }

  private async handleMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    this.inFlight.set(partition, BigInt(message.offset));
    // A type the group's registry does not know is skipped without decoding
    // it, by the producer's `event-type` header (without one: decoded, and
    // skipped there). Most records of the shared topic are for other groups.
    const type = message.headers?.['event-type'];
    if (type !== undefined && !this.registry.knows(String(type))) {
      this.opts.metrics?.handled(this.opts.groupId, topic, 'skipped', 0);
      this.handled(partition, BigInt(message.offset) + 1n);
      return;
    }
    // kafkajs heartbeats only between messages: a long handler (a model's
    // answer) would outlive the session and be thrown out of the group. So
    // it beats while the handler works, and the session can stay short,
    // which is how fast a killed member's partitions move to the others.
    const beating = heartbeat
      ? setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatIntervalMs)
      : undefined;
    let outcome: unknown;
    try {
      outcome = await this.deliver({
        value: message.value,
        partition,
        offset: message.offset,
        signal: this.abort.signal,
        deadLetter: (note) => this.deadLetter(message, partition, note),
        // A rebalance shows here: rethrown, so this member stops working on a
        // partition that another member now owns.
        ...(heartbeat ? { afterWait: heartbeat } : {}),
      });
    } finally {
      clearInterval(beating);
    }
    // Stopping: the message stays uncommitted and is delivered again.
    if (outcome === 'stopped') throw new KafkaStoppingError();
    this.handled(partition, BigInt(message.offset) + 1n);
    if (this.opts.commitIntervalMs === 0) await this.flush();
  }

  /** Records a handled offset; the commit timer sends it with the others. */
  private handled(partition: number, next: bigint): void {
    this.inFlight.set(partition, next);
    this.pending.set(partition, next);
    if (this.opts.commitIntervalMs > 0 && !this.commitTimer)
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        void this.flush();
      }, this.opts.commitIntervalMs);
  }

  /**
   * Commits every handled offset in one request. A failure (a rebalance, the
   * broker away) keeps them for the next commit unless newer ones came; the
   * messages are delivered again if none succeeds before the partition moves.
   */
  private flush(): Promise<void> {
    this.committing = this.committing.then(async () => {
      if (this.pending.size === 0) return;
      const offsets = [...this.pending].map(([partition, next]) => ({
        topic: this.opts.topic,
        partition,
        offset: next.toString(),
      }));
      this.pending.clear();
      try {
        await this.consumer.commitOffsets(offsets);
      } catch (err) {
        for (const { partition, offset } of offsets)
          if (!this.pending.has(partition) && this.assigned.has(partition))
            this.pending.set(partition, BigInt(offset));
        if (this.state === 'running')
          this.opts.logger.warn({ err, groupId: this.opts.groupId }, 'Could not commit offsets');
        if (this.state === 'running' && this.pending.size > 0 && !this.commitTimer)
          this.commitTimer = setTimeout(
            () => {
              this.commitTimer = undefined;
              void this.flush();
            },
            Math.max(this.opts.commitIntervalMs, 500),
          );
      }
    });
    return this.committing;
  }

  private async deadLetter(
    message: KafkaMessage,
    partition: number,
    { kind, reason, attempts }: DeadLetterNote,
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
