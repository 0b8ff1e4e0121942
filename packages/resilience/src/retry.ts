import {
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import { classify } from './classify.js';

/** How long to wait before each retry. */
export type RetrySchedule =
  /** `baseMs * 2^n`, with full jitter: a random wait in [0, that]. */
  | { kind: 'exponential'; baseMs: number; maxMs?: number }
  /** `stepMs * (n + 1)`: 500, 1000, ... */
  | { kind: 'linear'; stepMs: number }
  /** These waits in order. */
  | { kind: 'fixed'; delaysMs: readonly number[] };

/** Options for {@link retryPolicy}; presets in `RETRY_PRESETS`. */
export interface RetryOptions {
  /** Retries after the first attempt (0: never retried). */
  retries: number;
  schedule: RetrySchedule;
  /** A server's Retry-After longer than this gives up instead of waiting. @default 60000 */
  maxRetryAfterMs?: number;
  /** Which errors to retry. @default retryable by `classify` */
  isRetryable?: (err: unknown) => boolean;
  /** @default Math.random (tests pin it) */
  random?: () => number;
}

/** The wait before retry number `n` (0-based) by the schedule alone. */
export function scheduledDelay(schedule: RetrySchedule, n: number, random = Math.random): number {
  switch (schedule.kind) {
    case 'exponential': {
      const cap = Math.min(schedule.maxMs ?? Infinity, schedule.baseMs * 2 ** n);
      return Math.round(random() * cap);
    }
    case 'linear':
      return schedule.stepMs * (n + 1);
    case 'fixed':
      return schedule.delaysMs[Math.min(n, schedule.delaysMs.length - 1)] ?? 0;
  }
}

/** Cockatiel backoff: the schedule, but never shorter than the server's Retry-After. */
class ScheduleBackoff implements IBackoff<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly options: Required<Pick<RetryOptions, 'schedule' | 'random'>>,
    private readonly n: number,
    readonly duration: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const scheduled = scheduledDelay(this.options.schedule, this.n + 1, this.options.random);
    const error = 'error' in context.result ? context.result.error : undefined;
    const serverWait = classify(error).retryAfterMs ?? 0;
    return new ScheduleBackoff(this.options, this.n + 1, Math.max(scheduled, serverWait));
  }
}

class ScheduleBackoffFactory implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly options: Required<Pick<RetryOptions, 'schedule' | 'random'>>) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    return new ScheduleBackoff(this.options, -1, 0).next(context);
  }
}

/**
 * A cockatiel retry policy on a schedule: only retryable failures are retried
 * (timeouts, 408/409/429, 5xx, network), never an open circuit or a 4xx; a
 * server's Retry-After lengthens the wait, and one longer than
 * `maxRetryAfterMs` ends the retries (someone else should answer sooner).
 */
export function retryPolicy(options: RetryOptions): RetryPolicy {
  const isRetryable = options.isRetryable ?? ((err: unknown) => classify(err).retryable);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const handled = handleWhen((err) => {
    if (!isRetryable(err)) return false;
    return (classify(err).retryAfterMs ?? 0) <= maxRetryAfterMs;
  });
  return retry(handled, {
    maxAttempts: options.retries,
    backoff: new ScheduleBackoffFactory({
      schedule: options.schedule,
      random: options.random ?? Math.random,
    }),
  });
}
