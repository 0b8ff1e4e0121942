/**
 * Resilience for calls to outside systems: Parley's count-in-window breaker
 * (several half-open probes) plus cockatiel's retry, timeout, bulkhead and
 * `wrap`, with the design's settings as presets (docs/design/README.md).
 *
 * ```ts
 * import { dependencyPolicy, BREAKER_PRESETS, RETRY_PRESETS } from '@parley/resilience';
 * const { policy, breaker } = dependencyPolicy({
 *   name: 'llm:openai', timeoutMs: 30_000, retry: RETRY_PRESETS.llm, breaker: BREAKER_PRESETS.llm,
 * });
 * const answer = await policy.execute(({ signal }) => client.chat.completions.create(body, { signal }));
 * ```
 */
export {
  classify,
  retryAfter,
  isCancelled,
  isCircuitOpen,
  isBulkheadFull,
  type Classification,
  type FailureKind,
} from './classify.js';
export {
  WindowBreaker,
  type BreakerState,
  type BreakerSnapshot,
  type BreakerPermit,
  type WindowBreakerOptions,
} from './window-breaker.js';
export { retryPolicy, scheduledDelay, type RetryOptions, type RetrySchedule } from './retry.js';
export { BREAKER_PRESETS, RETRY_PRESETS } from './presets.js';
export {
  dependencyPolicy,
  type DependencyPolicy,
  type DependencyPolicyOptions,
  type ResilienceSink,
} from './compose.js';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  TaskCancelledError,
  isBrokenCircuitError,
} from 'cockatiel';
