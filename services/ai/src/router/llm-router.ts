import { setTimeout as sleep } from 'node:timers/promises';
import {
  BREAKER_PRESETS,
  WindowBreaker,
  classify,
  type BreakerPermit,
  type WindowBreakerOptions,
} from '@parley/resilience';
import {
  AllProvidersFailedError,
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../domain/provider.js';
import type { ProviderHealth } from './provider-health.js';

/** A provider, its share of the traffic, and its own time limits (over the router's). */
export interface WeightedProvider {
  provider: StreamingProvider;
  weight: number;
  firstTokenTimeoutMs?: number;
  generationTimeoutMs?: number;
}

/** What the router tells its observer. */
export type RouterEvent =
  | { kind: 'failover'; from: string; reason: string; afterText: boolean; ms: number }
  | { kind: 'answered'; provider: string; attempts: number; ms: number };

/** Options for {@link LlmRouter}. */
export interface LlmRouterOptions {
  providers: WeightedProvider[];
  health: ProviderHealth;
  /** A stream with no text by then is abandoned (a hanging primary is replaced within this). @default 4000 */
  firstTokenTimeoutMs?: number;
  /** Longest one provider may take for a whole answer. @default 30000 */
  generationTimeoutMs?: number;
  /** Longest an intent classification (`purpose: 'intent'`) may take on one provider. @default 5000 */
  intentTimeoutMs?: number;
  /** When every provider is cooling down, how long to wait for the earliest to return. @default 2000 */
  maxWaitForRecoveryMs?: number;
  /**
   * Each provider's circuit breaker, local to this replica: it keeps failing
   * providers out even when the shared health in Redis cannot be read.
   * @default `BREAKER_PRESETS.llm`, the design's LLM breaker (3 failures in 30 s,
   * open 15 s, 2 probes, 2 successes)
   */
  breaker?: WindowBreakerOptions;
  random?: () => number;
  onEvent?: (event: RouterEvent) => void;
}

class AttemptTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

const CONTINUE =
  'Continue your previous answer exactly where it stopped. Do not repeat anything already written.';

/**
 * Routes each answer to a healthy provider chosen by weight, and fails over:
 * a timeout (first token or whole answer), 429, 5xx or network error marks the
 * provider unhealthy for every replica (see {@link ProviderHealth}) and moves
 * to the next; a caller error (4xx) moves on without marking. A stream that
 * fails before its first token is replaced invisibly; one that fails midway is
 * continued by the next provider from the partial answer. When nobody is left
 * it throws {@link AllProvidersFailedError}, so a truncated answer never ends
 * as a clean finish. The router is the only retry loop: the SDKs' are off.
 */
export class LlmRouter implements StreamingProvider {
  readonly name = 'router';
  private readonly opts: Required<Omit<LlmRouterOptions, 'onEvent' | 'breaker'>> &
    Pick<LlmRouterOptions, 'onEvent'>;
  /** Each provider's breaker, by name (status pages, metrics, `/admin/reset-circuits`). */
  readonly breakers: ReadonlyMap<string, WindowBreaker>;

  constructor(options: LlmRouterOptions) {
    if (options.providers.length === 0)
      throw new RangeError('the router needs at least one provider');
    if (options.providers.some((p) => !(p.weight > 0)))
      throw new RangeError('weights must be positive');
    this.opts = {
      firstTokenTimeoutMs: 4_000,
      generationTimeoutMs: 30_000,
      intentTimeoutMs: 5_000,
      maxWaitForRecoveryMs: 2_000,
      random: Math.random,
      ...options,
    };
    this.breakers = new Map(
      options.providers.map((p) => [
        p.provider.name,
        new WindowBreaker(options.breaker ?? BREAKER_PRESETS.llm),
      ]),
    );
  }

  reply(request: ReplyRequest): Promise<Reply> {
    return collect(this.stream(request));
  }

  async *stream(request: ReplyRequest): AsyncIterable<ReplyChunk> {
    const tried = new Set<string>();
    let partial = '';
    let lastError: unknown;
    for (;;) {
      const chosen = await this.pick(tried, request);
      if (!chosen) break;
      const next = chosen.provider;
      tried.add(next.name);
      const attempt = partial ? continuation(request, partial) : request;
      let gotText = false;
      const started = performance.now();
      try {
        for await (const chunk of this.attempt(chosen, attempt)) {
          if (chunk.type === 'text') {
            if (!gotText) yield { type: 'provider', name: next.name };
            gotText = true;
            partial += chunk.text;
          }
          yield chunk;
        }
        this.opts.onEvent?.({
          kind: 'answered',
          provider: next.name,
          attempts: tried.size,
          ms: performance.now() - started,
        });
        return;
      } catch (err) {
        if (request.signal.aborted) throw err;
        lastError = err;
        const failure = classify(err);
        if (failure.retryable) await this.opts.health.markUnhealthy(next.name, failure.kind);
        this.opts.onEvent?.({
          kind: 'failover',
          from: next.name,
          reason: failure.kind,
          afterText: gotText || partial.length > 0,
          ms: performance.now() - started,
        });
      }
    }
    throw new AllProvidersFailedError(partial, { cause: lastError });
  }

  /**
   * A healthy provider not tried yet, by weight; when only cooling-down ones
   * are left, waits up to `maxWaitForRecoveryMs` for the earliest to return.
   */
  private async pick(
    tried: Set<string>,
    request: ReplyRequest,
  ): Promise<WeightedProvider | undefined> {
    const deadline = Date.now() + this.opts.maxWaitForRecoveryMs;
    // A tenant's own weights replace the configured ones; 0 keeps a provider away from it.
    const tenantWeights = (request.settings?.provider_weights ?? {}) as Record<string, number>;
    const candidates = this.opts.providers
      .map((p) => ({ ...p, weight: tenantWeights[p.provider.name] ?? p.weight }))
      .filter((p) => p.weight > 0);
    for (;;) {
      const left = candidates.filter((p) => !tried.has(p.provider.name));
      if (left.length === 0) return undefined;
      const records = await Promise.all(left.map((p) => this.opts.health.get(p.provider.name)));
      const now = Date.now();
      const healthy = left.filter(
        (p, i) =>
          records[i]!.unhealthyUntil <= now && this.breakers.get(p.provider.name)!.state !== 'open',
      );
      if (healthy.length > 0) return weighted(healthy, this.opts.random);
      const earliest = Math.min(
        ...left.map((p, i) =>
          Math.max(
            records[i]!.unhealthyUntil,
            this.breakers.get(p.provider.name)!.snapshot().openUntil ?? 0,
          ),
        ),
      );
      if (earliest > deadline) return undefined;
      await sleep(Math.max(10, earliest - now), undefined, { signal: request.signal });
    }
  }

  /**
   * One provider's stream under the first-token and whole-answer time limits
   * (the tenant's, else the provider's, else the router's).
   */
  private async *attempt(
    chosen: WeightedProvider,
    request: ReplyRequest,
  ): AsyncIterable<ReplyChunk> {
    const { provider } = chosen;
    const firstTokenMs =
      request.settings?.first_token_timeout_ms ??
      chosen.firstTokenTimeoutMs ??
      this.opts.firstTokenTimeoutMs;
    const generationMs =
      request.purpose === 'intent'
        ? this.opts.intentTimeoutMs
        : (request.settings?.generation_timeout_ms ??
          chosen.generationTimeoutMs ??
          this.opts.generationTimeoutMs);
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal.reason);
    request.signal.addEventListener('abort', onAbort, { once: true });
    let timedOut: string | undefined;
    const expire = (what: string) => () => {
      timedOut = what;
      controller.abort(new AttemptTimeoutError(what));
    };
    // Admission first: a half-open breaker with its probes in flight throws here, and the router moves on.
    const permit: BreakerPermit = this.breakers.get(provider.name)!.admit();
    const firstToken = setTimeout(expire('no first token in time'), firstTokenMs);
    const whole = setTimeout(expire('answer took too long'), generationMs);
    try {
      for await (const chunk of provider.stream({ ...request, signal: controller.signal })) {
        if (chunk.type === 'text') clearTimeout(firstToken);
        yield chunk;
      }
      permit.succeeded();
    } catch (err) {
      const failure = timedOut
        ? new AttemptTimeoutError(`${provider.name}: ${timedOut}`, { cause: err })
        : err;
      if (request.signal.aborted) permit.succeeded();
      else permit.failed(failure);
      throw failure;
    } finally {
      // A consumer that stopped reading early (guardrails) neither failed nor finished the call.
      permit.succeeded();
      clearTimeout(firstToken);
      clearTimeout(whole);
      request.signal.removeEventListener('abort', onAbort);
    }
  }
}

function weighted<T extends { weight: number }>(items: T[], random: () => number): T {
  const total = items.reduce((sum, i) => sum + i.weight, 0);
  let r = random() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}

/** The request that asks the next provider to go on from `partial`. */
function continuation(request: ReplyRequest, partial: string): ReplyRequest {
  return {
    ...request,
    history: [
      ...request.history,
      { role: 'user', text: request.text },
      { role: 'assistant', text: partial },
    ],
    text: CONTINUE,
  };
}
