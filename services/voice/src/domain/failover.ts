import {
  BREAKER_PRESETS,
  TaskCancelledError,
  dependencyPolicy,
  isCancelled,
  type DependencyPolicy,
} from '@parley/resilience';
import type { Logger } from '@parley/observability';
import {
  canStream,
  type SpeechContext,
  type Synthesizer,
  type Transcriber,
  type TranscriptionStream,
} from './speech.js';

type SpeechLabels = { kind: 'stt' | 'tts'; provider: string };

/** What the failover reports, shared by recognition and synthesis (`adapters/speech-metrics.ts`). */
export interface SpeechMetrics {
  /** Starts timing one request to a provider; the returned function records it. */
  startTimer(labels: SpeechLabels): () => void;
  error(labels: SpeechLabels): void;
  /** A request moved on to a standby provider. */
  failover(kind: 'stt' | 'tts'): void;
}

/** Speech providers answer within a phone turn or not at all: no retry, the standby is the retry. */
export const SPEECH_BREAKER = BREAKER_PRESETS.llm;

/** Thrown when no provider could serve a request. */
export class SpeechUnavailableError extends Error {
  readonly code = 'VOICE_ERR_SPEECH_UNAVAILABLE';
  constructor(
    readonly kind: 'stt' | 'tts',
    options?: ErrorOptions,
  ) {
    super(
      `no ${kind === 'stt' ? 'speech recognition' : 'speech synthesis'} provider answered`,
      options,
    );
    this.name = 'SpeechUnavailableError';
  }
}

interface Member<P> {
  provider: P;
  guard: DependencyPolicy;
}

/**
 * Providers of one kind in order of preference, each behind its own breaker
 * and timeout. A request goes to the first whose breaker is closed; when it
 * fails, the same request (audio or text, and the call's context: language,
 * hints, voice) goes to the next. The failed attempt is aborted first, so
 * nothing it produces late reaches the caller.
 */
class Failover<P extends { readonly name: string }> {
  private readonly members: Member<P>[];

  constructor(
    private readonly kind: 'stt' | 'tts',
    providers: readonly P[],
    timeoutMs: number,
    protected readonly metrics: SpeechMetrics,
    private readonly logger: Logger,
  ) {
    if (providers.length === 0) throw new RangeError(`no ${kind} provider configured`);
    this.members = providers.map((provider) => ({
      provider,
      guard: dependencyPolicy({
        name: `${kind}:${provider.name}`,
        timeoutMs,
        retry: { retries: 0, schedule: { kind: 'fixed', delaysMs: [] } },
        breaker: SPEECH_BREAKER,
      }),
    }));
  }

  get names(): string[] {
    return this.members.map((m) => m.provider.name);
  }

  /** The first provider whose breaker lets a request through now. */
  protected available(): Member<P> | undefined {
    return this.members.find((m) => m.guard.breaker.state !== 'open');
  }

  protected async run<T>(
    context: SpeechContext,
    call: (provider: P, context: SpeechContext) => Promise<T>,
  ): Promise<{ value: T; provider: string }> {
    let lastError: unknown;
    let tried = 0;
    for (const { provider, guard } of this.members) {
      if (context.signal.aborted) throw context.signal.reason;
      if (guard.breaker.state === 'open') continue;
      if (tried++ > 0) this.metrics.failover(this.kind);
      const end = this.metrics.startTimer({ kind: this.kind, provider: provider.name });
      try {
        const value = await guard.policy.execute(async ({ signal }) => {
          try {
            return await call(provider, {
              ...context,
              signal: AbortSignal.any([context.signal, signal]),
            });
          } catch (err) {
            // A provider that honours the abort rejects with its own error: it was our timeout.
            if (signal.aborted && !context.signal.aborted)
              throw new TaskCancelledError('speech provider timed out');
            throw err;
          }
        });
        end();
        return { value, provider: provider.name };
      } catch (err) {
        if (context.signal.aborted) throw err;
        if (!isCancelled(err)) this.metrics.error({ kind: this.kind, provider: provider.name });
        this.logger.warn(
          { err, kind: this.kind, provider: provider.name },
          'Speech provider failed; trying the next',
        );
        lastError = err;
      }
    }
    throw new SpeechUnavailableError(this.kind, { cause: lastError });
  }
}

/** Speech recognition across providers, with failover. */
export class TranscriberFailover extends Failover<Transcriber> implements Transcriber {
  readonly name = 'failover';

  constructor(
    providers: readonly Transcriber[],
    timeoutMs: number,
    metrics: SpeechMetrics,
    logger: Logger,
  ) {
    super('stt', providers, timeoutMs, metrics, logger);
  }

  async transcribe(audio: Int16Array, context: SpeechContext): Promise<string> {
    return (await this.run(context, (p, c) => p.transcribe(audio, c))).value;
  }

  /**
   * A live stream from the first available provider, when it can stream
   * (else null: the utterance is transcribed whole when it ends). Its outcome
   * counts on that provider's breaker; if it fails, the caller transcribes the
   * utterance whole through the failover.
   */
  /** Whether the provider a request would go to now can listen live. */
  streamsNow(): boolean {
    const member = this.available();
    return member !== undefined && canStream(member.provider);
  }

  async stream(context: SpeechContext): Promise<TranscriptionStream | null> {
    const member = this.available();
    if (!member || !canStream(member.provider)) return null;
    const { provider, guard } = member;
    const labels = { kind: 'stt', provider: provider.name } as const;
    let permit;
    try {
      permit = guard.breaker.admit();
    } catch {
      return null;
    }
    const fail = (err: unknown) => {
      // Whatever the SDK threw (socket events classify as unknown), a broken stream counts.
      permit.failed(new TaskCancelledError(`live recognition failed: ${String(err)}`));
      if (!context.signal.aborted) this.metrics.error(labels);
    };
    let stream: TranscriptionStream;
    try {
      stream = await provider.stream(context);
    } catch (err) {
      fail(err);
      return null;
    }
    return {
      write: (frame) => stream.write(frame),
      finish: async () => {
        const end = this.metrics.startTimer(labels);
        try {
          const text = await stream.finish();
          end();
          permit.succeeded();
          return text;
        } catch (err) {
          fail(err);
          throw err;
        }
      },
      abort: () => {
        stream.abort();
        permit.succeeded(); // not the provider's fault
      },
    };
  }
}

/** Speech synthesis across providers, with failover. */
export class SynthesizerFailover extends Failover<Synthesizer> implements Synthesizer {
  readonly name = 'failover';

  constructor(
    providers: readonly Synthesizer[],
    timeoutMs: number,
    metrics: SpeechMetrics,
    logger: Logger,
  ) {
    super('tts', providers, timeoutMs, metrics, logger);
  }

  async synthesize(text: string, context: SpeechContext): Promise<Int16Array> {
    return (await this.run(context, (p, c) => p.synthesize(text, c))).value;
  }
}
