import {
  BrokenCircuitError,
  EventEmitter,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import { classify } from './classify.js';

/** Where a breaker is. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Options for {@link WindowBreaker}; presets in `BREAKER_PRESETS`. */
export interface WindowBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  failureThreshold: number;
  /** The sliding window failures are counted in. */
  windowMs: number;
  /** How long the circuit stays open before probing. */
  openMs: number;
  /** Calls let through at once while half-open; more are rejected. */
  halfOpenMaxCalls: number;
  /** Probe successes that close the circuit; one probe failure reopens it. */
  halfOpenSuccesses: number;
  /**
   * Which errors count as failures of the dependency.
   * @default retryable errors by `classify` (timeouts, 429, 5xx, network), so a 400 caused by the caller does not open it
   */
  isFailure?: (err: unknown) => boolean;
  /** @default Date.now (fake timers move it too) */
  now?: () => number;
}

/** A breaker's state for status pages and shared health. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures counted in the current window (closed). */
  recentFailures: number;
  /** When an open circuit starts probing (ms since epoch). */
  openUntil?: number;
  /** Probe successes so far (half-open). */
  probeSuccesses: number;
}

/** One admitted call's outcome, reported once. */
export interface BreakerPermit {
  succeeded(): void;
  failed(err: unknown): void;
}

/**
 * A circuit breaker with the design's semantics
 * (docs/design/README.md#circuit-breakers), which cockatiel's own breaker
 * does not have (it lets one probe through and closes on its first success):
 * it opens after N failures within a sliding window, rejects for `openMs`,
 * then lets up to `halfOpenMaxCalls` probes through at once and closes after
 * `halfOpenSuccesses` of them succeed; one failed probe opens it again.
 * Implements cockatiel's `IPolicy`, so it composes with `wrap`, `retry`,
 * `timeout` and `bulkhead`. Rejections throw cockatiel's `BrokenCircuitError`.
 * One breaker per dependency, shared by all its calls.
 */
export class WindowBreaker implements IPolicy<IDefaultPolicyContext> {
  declare readonly _altReturn: never;
  private readonly stateEmitter = new EventEmitter<BreakerState>();
  private readonly successEmitter = new EventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new EventEmitter<IFailureEvent>();
  private readonly rejectEmitter = new EventEmitter<BreakerState>();
  /** Fires on every transition, with the new state. */
  readonly onStateChange = this.stateEmitter.addListener;
  readonly onSuccess = this.successEmitter.addListener;
  readonly onFailure = this.failureEmitter.addListener;
  /** Fires when a call is refused without running (open, or half-open and full). */
  readonly onReject = this.rejectEmitter.addListener;

  private current: BreakerState = 'closed';
  private failures: number[] = [];
  private openedAt = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private readonly opts: Required<WindowBreakerOptions>;

  constructor(options: WindowBreakerOptions) {
    this.opts = {
      isFailure: (err) => classify(err).retryable,
      now: () => Date.now(),
      ...options,
    };
    const { failureThreshold, windowMs, openMs, halfOpenMaxCalls, halfOpenSuccesses } = this.opts;
    for (const [name, value] of Object.entries({
      failureThreshold,
      windowMs,
      openMs,
      halfOpenMaxCalls,
      halfOpenSuccesses,
    })) {
      if (!Number.isFinite(value) || value < 1) throw new RangeError(`${name} must be at least 1`);
    }
  }

  /** The state now (an open circuit whose time is up reads as half-open). */
  get state(): BreakerState {
    this.advance();
    return this.current;
  }

  snapshot(): BreakerSnapshot {
    this.advance();
    const now = this.opts.now();
    return {
      state: this.current,
      recentFailures: this.failures.filter((t) => now - t < this.opts.windowMs).length,
      ...(this.current === 'open' ? { openUntil: this.openedAt + this.opts.openMs } : {}),
      probeSuccesses: this.probeSuccesses,
    };
  }

  /**
   * Ends an open period early: a health check saw the dependency answer
   * again, so the circuit goes half-open and real calls decide from there
   * (one failure opens it again). Without it, recovery waits out `openMs`.
   */
  probeNow(): void {
    if (this.current !== 'open') return;
    this.probeSuccesses = 0;
    this.transition('half_open');
  }

  /** Closes the circuit and forgets its failures (operators: `/admin/reset-circuits`). */
  reset(): void {
    this.failures = [];
    this.probeSuccesses = 0;
    this.transition('closed');
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<T> {
    const permit = this.admit();
    try {
      const value = await fn({ signal });
      permit.succeeded();
      return value;
    } catch (err) {
      permit.failed(err);
      throw err;
    }
  }

  /**
   * The same admission as `execute`, for calls that are not one promise (a
   * stream consumed chunk by chunk): throws `BrokenCircuitError` when the
   * call may not run, else returns a permit on which the caller reports the
   * outcome exactly once (later reports are ignored).
   */
  admit(): BreakerPermit {
    this.advance();
    const probing = this.current === 'half_open';
    if (this.current === 'open' || (probing && this.probesInFlight >= this.opts.halfOpenMaxCalls)) {
      this.rejectEmitter.emit(this.current);
      throw new BrokenCircuitError();
    }
    if (probing) this.probesInFlight++;
    const started = performance.now();
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      if (probing) this.probesInFlight--;
      return true;
    };
    return {
      succeeded: () => {
        if (!settle()) return;
        this.successEmitter.emit({ duration: performance.now() - started });
        this.recordSuccess(probing);
      },
      failed: (err: unknown) => {
        if (!settle()) return;
        const counted = this.opts.isFailure(err);
        this.failureEmitter.emit({
          duration: performance.now() - started,
          handled: counted,
          reason: { error: err as Error },
        });
        if (counted) this.recordFailure(probing);
        else this.recordSuccess(probing);
      },
    };
  }

  private recordSuccess(probe: boolean): void {
    if (!probe || this.current !== 'half_open') return;
    this.probeSuccesses++;
    if (this.probeSuccesses >= this.opts.halfOpenSuccesses) this.reset();
  }

  private recordFailure(probe: boolean): void {
    const now = this.opts.now();
    if (probe || this.current === 'half_open') return this.open(now);
    if (this.current !== 'closed') return;
    this.failures = this.failures.filter((t) => now - t < this.opts.windowMs);
    this.failures.push(now);
    if (this.failures.length >= this.opts.failureThreshold) this.open(now);
  }

  private open(now: number): void {
    this.openedAt = now;
    this.failures = [];
    this.probeSuccesses = 0;
    this.transition('open');
  }

  /** An open circuit whose time is up becomes half-open on the next look. */
  private advance(): void {
    if (this.current === 'open' && this.opts.now() - this.openedAt >= this.opts.openMs) {
      this.probeSuccesses = 0;
      this.transition('half_open');
    }
  }

  private transition(next: BreakerState): void {
    if (next === this.current) return;
    this.current = next;
    this.stateEmitter.emit(next);
  }
}
