import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '@parley/contracts';
import {
  isPermanentError,
  isUnavailableError,
  type EventBus,
  type SubscribeOptions,
  type Subscription,
} from '@parley/ports';

/** Options for {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Partitions of the topic; a conversation always maps to the same one. @default 24 */
  partitions?: number;
  /** Handler attempts before an event is dead-lettered. @default 3 */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt. @default 100 */
  retryBackoffMs?: number;
  /** Dead letters kept for inspection (oldest dropped first). @default 1000 */
  maxDeadLetters?: number;
}

/** An event that could not be handled, with the reason. */
export interface DeadLetter {
  groupId: string;
  raw: string;
  reason: string;
}

interface Partition {
  /** Offset of `log[0]`: entries before it were handled by every group and dropped. */
  base: number;
  log: string[];
}

interface Member {
  options: SubscribeOptions;
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
 * offsets committed only after the handler finished, retries with backoff
 * then dead letters, and redelivery of an event whose member stopped midway.
 * Entries every group has passed are dropped, so memory stays bounded by the
 * slowest group's backlog. Not durable: events in flight die with the process.
 */
export class MemoryBroker {
  readonly deadLetters: DeadLetter[] = [];
  private readonly partitions: Partition[];
  private readonly groups = new Map<string, Group>();
  private readonly opts: Required<MemoryBrokerOptions>;

  constructor(options: MemoryBrokerOptions = {}) {
    this.opts = {
      partitions: 24,
      maxAttempts: 3,
      retryBackoffMs: 100,
      maxDeadLetters: 1000,
      ...options,
    };
    if (this.opts.partitions < 1) throw new RangeError('partitions must be at least 1');
    if (this.opts.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
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
    this.partitions[index]!.log.push(JSON.stringify(event));
    for (const group of this.groups.values()) this.kick(group, index);
  }

  private member(options: SubscribeOptions): Subscription {
    const member: Member = { options, abort: new AbortController(), inFlight: new Set() };
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
      const raw = partition.log[offset - partition.base]!;
      const delivery = this.deliver(member, raw, index, offset);
      member.inFlight.add(delivery);
      const handled = await delivery.finally(() => member.inFlight.delete(delivery));
      if (!handled) return; // the member is stopping: leave the offset uncommitted
      group.next[index] = offset + 1;
      this.trim(index);
    }
  }

  /** True when the event is done with (handled, skipped or dead-lettered). */
  private async deliver(
    member: Member,
    raw: string,
    partition: number,
    offset: number,
  ): Promise<boolean> {
    const { registry, handler, groupId } = member.options;
    const decoded = registry.decode(raw);
    if (decoded.kind === 'unknown_type') return true;
    if (decoded.kind !== 'ok') {
      this.deadLetter({
        groupId,
        raw,
        reason: decoded.kind === 'invalid' ? decoded.reason : 'newer_version',
      });
      return true;
    }
    const signal = member.abort.signal;
    let lastError: unknown;
    let waits = 0;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      if (signal.aborted) return false;
      try {
        await handler(decoded.event, { partition, offset: String(offset), attempt, signal });
        return true;
      } catch (err) {
        lastError = err;
        if (signal.aborted) return false;
        if (isUnavailableError(err)) {
          // A dependency is down: retry without using up an attempt, as Kafka's consumer does.
          const delay = Math.min(1_000, this.opts.retryBackoffMs * 2 ** Math.min(waits++, 10));
          await sleep(delay, undefined, { signal }).catch(() => undefined);
          attempt--;
          continue;
        }
        if (isPermanentError(err)) break;
        if (attempt < this.opts.maxAttempts)
          await sleep(this.opts.retryBackoffMs * 2 ** (attempt - 1), undefined, { signal }).catch(
            () => undefined,
          );
      }
    }
    this.deadLetter({
      groupId,
      raw,
      reason: lastError instanceof Error ? lastError.message : String(lastError),
    });
    return true;
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
