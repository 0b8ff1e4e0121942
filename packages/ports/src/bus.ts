import type { Envelope, Event, EventRegistry } from '@parley/contracts';

/** What a handler learns about a delivery besides the event. */
export interface DeliveryContext {
  /** The consumer group the event is delivered to. */
  groupId: string;
  topic: string;
  partition: number;
  offset: string;
  /** 1 on first delivery to the handler, then 2, 3, ... on retries. */
  attempt: number;
  /** Aborted when the subscription stops: give up and let the event be redelivered. */
  signal: AbortSignal;
}

/**
 * Handles one decoded event. Throwing means "retry, then dead-letter";
 * {@link PermanentError}: dead-letter now; {@link UnavailableError}: retry until it works.
 */
export type BusHandler = (event: Event, ctx: DeliveryContext) => Promise<void>;

/** Options for {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Consumer group: members of one group share the partitions, each group sees every event. */
  groupId: string;
  /** Decodes events; types it does not know are skipped and committed. */
  registry: EventRegistry;
  handler: BusHandler;
  /** Start from the oldest event when the group has no committed offset. @default false */
  fromBeginning?: boolean;
}

/** A group member; events are handled between `start()` and `stop()`. */
export interface Subscription {
  start(): Promise<void>;
  /** Finishes the event in hand, commits it, and leaves the group. */
  stop(): Promise<void>;
  /** Whether the member is running (for readiness). */
  readonly healthy: boolean;
}

/**
 * `conversation-events`: events keyed by conversation, in order per
 * conversation, delivered at least once to every consumer group, with the
 * offset committed only after the handler finished.
 */
export interface EventBus {
  /** Resolves once the event is durable (Kafka: acknowledged by all in-sync replicas). */
  publish(event: Envelope): Promise<void>;
  subscribe(options: SubscribeOptions): Subscription;
}

/**
 * A handler failure that no retry can fix (an event for a tenant that does
 * not exist): the bus dead-letters the event at once instead of retrying.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly permanent = true;
}

/** True for a {@link PermanentError}, also across package copies. */
export function isPermanentError(err: unknown): boolean {
  return err instanceof Error && (err as { permanent?: unknown }).permanent === true;
}

/**
 * A handler failure because a dependency is down for now (Postgres failing
 * over to its replica): the bus keeps retrying the event, at most its retry
 * cap apart, without counting attempts or dead-lettering it, until the
 * dependency is back or the subscription stops. Later events of the
 * partition wait behind it, so a conversation stays in order.
 */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  readonly unavailable = true;
  readonly code: string;

  constructor(message: string, options: { code: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/** True for an {@link UnavailableError}, also across package copies. */
export function isUnavailableError(err: unknown): boolean {
  return err instanceof Error && (err as { unavailable?: unknown }).unavailable === true;
}
