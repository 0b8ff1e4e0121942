import type { RetryOptions } from './retry.js';
import type { WindowBreakerOptions } from './window-breaker.js';

/**
 * Breaker settings per kind of dependency, from the design's breaker table
 * (docs/design/README.md#circuit-breakers): failures within the window, how
 * long it stays open, half-open probes, successes to close.
 */
export const BREAKER_PRESETS = {
  llm: {
    failureThreshold: 3,
    windowMs: 30_000,
    openMs: 15_000,
    halfOpenMaxCalls: 2,
    halfOpenSuccesses: 2,
  },
  /**
   * Knowledge retrieval has no row of its own in the design's breaker table:
   * the general pattern (5 in 60 s, 30 s open, 3 probes).
   */
  knowledge: {
    failureThreshold: 5,
    windowMs: 60_000,
    openMs: 30_000,
    halfOpenMaxCalls: 3,
    halfOpenSuccesses: 3,
  },
} as const satisfies Record<string, WindowBreakerOptions>;

/**
 * Retry settings per kind of call, from the design's retry table
 * (docs/design/README.md#retries). Only the kinds Parley calls are here (the
 * design's CRM, e-mail and payment rows have no caller); a new dependency
 * adds its row.
 */
export const RETRY_PRESETS = {
  llm: { retries: 3, schedule: { kind: 'exponential', baseMs: 1_000, maxMs: 4_000 } },
  knowledge: { retries: 2, schedule: { kind: 'linear', stepMs: 200 } },
} as const satisfies Record<string, RetryOptions>;
