import {
  TimeoutStrategy,
  bulkhead,
  timeout,
  wrap,
  type IDefaultPolicyContext,
  type IPolicy,
} from 'cockatiel';
import { retryPolicy, type RetryOptions } from './retry.js';
import { WindowBreaker, type BreakerState, type WindowBreakerOptions } from './window-breaker.js';

/** Where resilience events go; bind it with `resilienceMetrics` from `@parley/observability`. */
export interface ResilienceSink {
  stateChanged(dependency: string, state: BreakerState): void;
  retried(dependency: string, attempt: number, delayMs: number): void;
  rejected(dependency: string, reason: 'circuit_open' | 'bulkhead_full'): void;
}

/** Options for {@link dependencyPolicy}. */
export interface DependencyPolicyOptions {
  /** Names the dependency in metrics (`llm:openai`, `knowledge`). */
  name: string;
  /** Per-attempt time limit; the attempt is abandoned (and counts as a failure) when it passes. */
  timeoutMs: number;
  retry: RetryOptions;
  /** The dependency's breaker; pass the same instance to every policy for that dependency. */
  breaker: WindowBreaker | WindowBreakerOptions;
  /** Calls in flight at most, and calls waiting for a slot at most. */
  bulkhead?: { limit: number; queue: number };
  sink?: ResilienceSink;
}

/** A composed policy and the breaker inside it. */
export interface DependencyPolicy {
  policy: IPolicy<IDefaultPolicyContext>;
  breaker: WindowBreaker;
}

/**
 * The usual stack around a call to an outside system, outermost first:
 * bulkhead (bounded concurrency and queue) → retry (schedule, Retry-After) →
 * breaker (count-in-window) → timeout (per attempt, aggressive). The retry
 * sits outside the breaker, so an open circuit ends the retries at once.
 *
 * ```ts
 * const { policy } = dependencyPolicy({ name: 'knowledge', timeoutMs: 2_000, retry: RETRY_PRESETS.knowledge, breaker: BREAKER_PRESETS.knowledge });
 * const passages = await policy.execute(({ signal }) => knowledge.search(query, { signal }));
 * ```
 */
export function dependencyPolicy(options: DependencyPolicyOptions): DependencyPolicy {
  const breaker =
    options.breaker instanceof WindowBreaker ? options.breaker : new WindowBreaker(options.breaker);
  const retry = retryPolicy(options.retry);
  const perAttempt = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  const { sink, name } = options;
  if (sink) {
    breaker.onStateChange((state) => sink.stateChanged(name, state));
    breaker.onReject(() => sink.rejected(name, 'circuit_open'));
    retry.onRetry(({ attempt, delay }) => sink.retried(name, attempt, delay));
  }
  const layers: Array<IPolicy<IDefaultPolicyContext>> = [retry, breaker, perAttempt];
  if (options.bulkhead) {
    const gate = bulkhead(options.bulkhead.limit, options.bulkhead.queue);
    if (sink) gate.onReject(() => sink.rejected(name, 'bulkhead_full'));
    layers.unshift(gate);
  }
  return { policy: wrap(...layers), breaker };
}
