import { concat } from '../pcm.js';
import type { SpeechContext, TranscriptionStream } from '../speech.js';
import type { CallDeps, CallSettings } from './types.js';

/** One utterance streamed to a live recognizer; its frames wait in `queued` until the stream opens. */
export interface LiveRecognition {
  stream: Promise<TranscriptionStream | null>;
  queued: Int16Array[] | null;
}

/**
 * The caller's words, utterance by utterance. When the provider that would
 * answer now streams, each utterance goes to it live while the caller
 * speaks; otherwise recognition starts at each pause on the utterance so far
 * (speculation), so that if the pause turns out to be its end, the text is
 * (nearly) ready; else the whole utterance is recognized at its end.
 */
export class Recognition {
  /** The utterance in progress, streamed to a live recognizer (null: recognized whole at its end). */
  private live: LiveRecognition | null = null;
  /** Recognition started at a pause, used if the utterance ends without more speech. */
  private speculation: { speechMs: number; text: Promise<string>; abort: AbortController } | null =
    null;

  constructor(
    private readonly settings: Pick<CallSettings, 'minUtteranceMs'>,
    private readonly deps: Pick<CallDeps, 'transcriber' | 'logger'>,
    private readonly context: () => SpeechContext,
  ) {}

  /** Speech this short is noise (a cough, a click): it is not recognized. */
  isNoise(speechMs: number): boolean {
    return speechMs < (this.settings.minUtteranceMs ?? 250);
  }

  /** An utterance began: live recognition starts on its frames so far; a speculation is dropped. */
  begin(frames: Int16Array[]): void {
    this.openLive(frames);
    this.dropSpeculation(false);
  }

  /** One more frame of the utterance, for the live recognizer. */
  listen(frame: Int16Array): void {
    const live = this.live;
    if (!live) return;
    if (live.queued) live.queued.push(frame);
    else void live.stream.then((stream) => stream?.write(frame)).catch(() => undefined);
  }

  /** The caller paused: without a live recognizer, recognition starts on the utterance so far. */
  paused(frames: Int16Array[], speechMs: number): void {
    if (!this.live) this.speculate(concat(frames), speechMs);
  }

  /** The utterance ended: its live recognition, if any, to finish (`words`) or `drop`. */
  takeLive(): LiveRecognition | null {
    const live = this.live;
    this.live = null;
    return live;
  }

  /** Drops an utterance's live recognition. */
  drop(live: LiveRecognition | null): void {
    void live?.stream.then((s) => s?.abort()).catch(() => undefined);
  }

  /** The words of an ended utterance: live when it streamed, else the speculation or a whole request. */
  async words(audio: Int16Array, speechMs: number, live: LiveRecognition | null): Promise<string> {
    // The speculation holds the same speech when the caller said nothing more after the pause.
    const speculation = this.speculation?.speechMs === speechMs ? this.speculation.text : null;
    this.dropSpeculation(speculation !== null);
    const stream = live ? await live.stream : null;
    if (stream) {
      try {
        return await stream.finish();
      } catch (err) {
        // The live stream failed: the whole utterance goes through the failover instead.
        this.deps.logger.warn({ err }, 'Live recognition failed; transcribing the utterance whole');
      }
    }
    return speculation ?? this.deps.transcriber.transcribe(audio, this.context());
  }

  /** The call ended: the live recognizer is dropped (the call's signal cancels the rest). */
  end(): void {
    this.drop(this.live);
    this.live = null;
  }

  /** Starts live recognition of the utterance that just began (its frames so far first). */
  private openLive(frames: Int16Array[]): void {
    this.drop(this.live);
    this.live = null;
    // Live only when the provider that would answer now streams; else speculation at pauses.
    if (!this.deps.transcriber.stream || !this.deps.transcriber.streamsNow?.()) return;
    const live: LiveRecognition = {
      stream: this.deps.transcriber.stream(this.context()).catch(() => null),
      queued: [...frames],
    };
    void live.stream
      .then((stream) => {
        for (const frame of live.queued ?? []) stream?.write(frame);
      })
      .catch(() => undefined)
      .finally(() => (live.queued = null));
    this.live = live;
  }

  /** Recognition of the utterance so far, at a pause (see the class). */
  private speculate(audio: Int16Array, speechMs: number): void {
    this.dropSpeculation(false);
    if (this.isNoise(speechMs)) return;
    const abort = new AbortController();
    const context = this.context();
    const text = this.deps.transcriber.transcribe(audio, {
      ...context,
      signal: AbortSignal.any([context.signal, abort.signal]),
    });
    text.catch(() => undefined);
    this.speculation = { speechMs, text, abort };
  }

  /** Forgets the speculation; cancels it unless it is being used. */
  private dropSpeculation(used: boolean): void {
    if (this.speculation && !used) this.speculation.abort.abort(new Error('caller spoke on'));
    this.speculation = null;
  }
}
