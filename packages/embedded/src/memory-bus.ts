import type { Envelope } from '@parley/contracts';
import {
  deliverer,
  type DeadLetterNote,
  type DeliveryLogger,
  type DeliveryMetrics,
  type DeliveryOutcome,
  type EventBus,
  type InboundEvent,
  type Interceptor,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from '@parley/ports';

/** Options for {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** The topic's name, as handlers and metrics see it. @default 'conversation-events' */
  topic?: string;
  /** Partitions of the topic; a conversation always maps to the same one. @default 24 */
  partitions?: number;
  /** Retries (`DEFAULT_RETRY_POLICY` of `@parley/ports` for what is not given), as on Kafka. */
  retry?: Partial<RetryPolicy>;
  /** Dead letters kept for inspection (oldest dropped first). @default 1000 */
  maxDeadLetters?: number;
  /** Around every handler call, outermost first (`busTracing()` of `@parley/observability`). */
  interceptors?: readonly Interceptor[];
  /** Handled-message counts (`deliveryMetrics()` of `@parley/observability`). */
  metrics?: DeliveryMetrics;
  logger?: DeliveryLogger;
}

/** An event that could not be handled, with the reason. */
export interface DeadLetter extends DeadLetterNote {
  groupId: string;
  raw: string;
}

interface Partition {
  /** Offset of `log[0]`: entries before it were handled by every group and dropped. */
  base: number;
  /** Each event as published (JSON) with its type, as Kafka's `event-type` header carries it. */
  log: Array<{ raw: string; type: string }>;
}

interface Member {
  options: SubscribeOptions;
  deliver: (event: InboundEvent) => Promise<DeliveryOutcome>;
  abort: AbortController;
  inFlight: Set<Promise<unknown>>;
}

interface Group {
  /** Next offset to hand out, per partition. */
  next: number[];
  members: Member[];
  pumping: Set<number>;
}

/**
 * The in-process stand-in for Kafka's `conversation-events`: a partitioned
 * log keyed by conversation, consumer groups whose members share partitions,
 * offsets committed only after the handler finished, the same delivery as
 * Kafka's consumer (`deliverer` of `@parley/ports`: retries, waits while a
 * dependency is unavailable, dead letters), and redelivery of an event whose
 * member stopped midway.
 * Entries every group has passed are dropped, so memory stays bounded by the
 * slowest group's backlog. Not durable: events in flight die with the process.
 */
export class MemoryBroker {
  readonly deadLetters: DeadLetter[] = [];
  private readonly partitions: Partition[];
  private readonly groups = new Map<string, Group>();
  private readonly opts: MemoryBrokerOptions & {
    topic: string;
    partitions: number;
    maxDeadLetters: number;
  };

  constructor(options: MemoryBrokerOptions = {}) {
    this.opts = { topic: 'conversation-events', partitions: 24, maxDeadLetters: 1000, ...options };
    if (this.opts.partitions < 1) throw new RangeError('partitions must be at least 1');
    this.partitions = Array.from({ length: this.opts.partitions }, () => ({ base: 0, log: [] }));
  }

  /** A client of this broker; several behave like several processes. */
  bus(): EventBus {
    return {
      publish: async (event) => this.append(event),
      subscribe: (options) => this.member(options),
    };
  }

  /** Events waiting for the slowest group, over all partitions. */
  get backlog(): number {
    return this.partitions.reduce((n, p) => n + p.log.length, 0);
  }

  private append(event: Envelope): void {
    const index = partitionOf(event.conversation_id, this.partitions.length);
    this.partitions[index]!.log.push({ raw: JSON.stringify(event), type: event.type });
    for (const group of this.groups.values()) this.kick(group, index);
  }

  private member(options: SubscribeOptions): Subscription {
    const { interceptors, retry, metrics, logger, topic } = this.opts;
    const member: Member = {
      options,
      deliver: deliverer({
        groupId: options.groupId,
        topic,
        registry: options.registry,
        handler: options.handler,
        ...(interceptors ? { interceptors } : {}),
        ...(retry ? { policy: retry } : {}),
        ...(metrics ? { metrics } : {}),
        ...(logger ? { logger } : {}),
      }),
      abort: new AbortController(),
      inFlight: new Set(),
    };
    let state: 'idle' | 'running' | 'stopped' = 'idle';
    return {
      start: async () => {
        if (state !== 'idle') return;
        state = 'running';
        const group = this.groupFor(options);
        group.members.push(member);
        this.partitions.forEach((_, i) => this.kick(group, i));
      },
      stop: async () => {
        if (state !== 'running') return;
        state = 'stopped';
        member.abort.abort();
        await Promise.allSettled([...member.inFlight]);
        const group = this.groups.get(options.groupId)!;
        group.members = group.members.filter((m) => m !== member);
        this.partitions.forEach((_, i) => this.kick(group, i));
      },
      get healthy() {
        return state === 'running';
      },
    };
  }

  private groupFor(options: SubscribeOptions): Group {
    let group = this.groups.get(options.groupId);
    if (!group) {
      group = {
        next: this.partitions.map((p) => (options.fromBeginning ? p.base : p.base + p.log.length)),
        members: [],
        pumping: new Set(),
      };
      this.groups.set(options.groupId, group);
    }
    return group;
  }

  private kick(group: Group, index: number): void {
    if (group.pumping.has(index) || group.members.length === 0) return;
    group.pumping.add(index);
    setImmediate(() => {
      void this.pump(group, index).finally(() => {
        group.pumping.delete(index);
        const p = this.partitions[index]!;
        if (group.members.length > 0 && group.next[index]! < p.base + p.log.length)
          this.kick(group, index);
      });
    });
  }

  /** Hands out one partition's events in order, one at a time, to the member that owns it now. */
  private async pump(group: Group, index: number): Promise<void> {
    const partition = this.partitions[index]!;
    for (;;) {
      const offset = group.next[index]!;
      if (offset >= partition.base + partition.log.length) return;
      const member = group.members[index % group.members.length];
      if (!member || member.abort.signal.aborted) return;
      const { raw, type } = partition.log[offset - partition.base]!;
      // A type the group does not handle is passed over undecoded, as the Kafka consumer does.
      if (!member.options.registry.knows(type)) {
        group.next[index] = offset + 1;
        this.trim(index);
        continue;
      }
      const delivery = this.deliver(member, raw, index, offset);
      member.inFlight.add(delivery);
      const handled = await delivery.finally(() => member.inFlight.delete(delivery));
      if (!handled) return; // the member is stopping: leave the offset uncommitted
      group.next[index] = offset + 1;
      this.trim(index);
    }
  }

  /** True when the event is done with (handled, skipped or dead-lettered), false when the member stopped. */
  private async deliver(
    member: Member,
    raw: string,
    partition: number,
    offset: number,
  ): Promise<boolean> {
    const outcome = await member.deliver({
      value: raw,
      partition,
      offset: String(offset),
      signal: member.abort.signal,
      deadLetter: async (note) =>
        this.deadLetter({ ...note, groupId: member.options.groupId, raw }),
    });
    return outcome !== 'stopped';
  }

  private deadLetter(letter: DeadLetter): void {
    this.deadLetters.push(letter);
    if (this.deadLetters.length > this.opts.maxDeadLetters) this.deadLetters.shift();
  }

  private trim(index: number): void {
    const partition = this.partitions[index]!;
    let lowest = Infinity;
    for (const group of this.groups.values()) lowest = Math.min(lowest, group.next[index]!);
    const drop = lowest - partition.base;
    if (drop > 0 && Number.isFinite(drop)) {
      partition.log.splice(0, drop);
      partition.base = lowest;
    }
  }
}

/** FNV-1a over the key: stable, so one conversation always lands on one partition. */
function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
