/**
 * The ports Parley's domain code is written against. Each has a real adapter
 * (`@parley/kafka`, `@parley/postgres`, `@parley/redis`) and an embedded one
 * (`@parley/embedded`); `@parley/port-contracts` holds the suites both pass.
 *
 * ```ts
 * import type { EventBus, SqlDatabase, Cache } from '@parley/ports';
 * export function startChat(ports: { bus: EventBus; db: SqlDatabase; cache: Cache }) { ... }
 * ```
 */
export type {
  EventBus,
  BusHandler,
  DeliveryContext,
  SubscribeOptions,
  Subscription,
} from './bus.js';
export { PermanentError, isPermanentError, UnavailableError, isUnavailableError } from './bus.js';
export {
  deliverer,
  DEFAULT_RETRY_POLICY,
  type DeadLetterNote,
  type DelivererOptions,
  type DeliveryLogger,
  type DeliveryMetrics,
  type DeliveryOutcome,
  type InboundEvent,
  type Interceptor,
  type RetryPolicy,
} from './delivery.js';
export type { SqlDatabase, SqlTransaction, ReadConsistency, WritePosition } from './sql.js';
export type { Cache, TokenBucket, TokenResult, Unsubscribe } from './cache.js';
export { comparePositions } from './position.js';
