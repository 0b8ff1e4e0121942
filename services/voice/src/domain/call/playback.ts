import { sentences, speakable, type SpeechContext } from '../speech.js';
import type { CallState } from './state.js';
import type { CallDeps, CallSettings, Utterance, UtteranceKind } from './types.js';

/** What playback needs from the session, and tells it. */
export interface PlaybackHooks {
  /** The speech context for synthesis. */
  context(): SpeechContext;
  /** Whether the caller is speaking now. */
  callerSpeaking(): boolean;
  /** A sentence was queued. */
  queued(): void;
  /** A sentence's audio is about to play. */
  starting(): void;
  /** Everything queued has played, and nothing cut waits to play again. */
  drained(): void;
  /** What barge-in cut played again at the deadline, before recognition decided. */
  resumedAtDeadline(): void;
}

/**
 * What the call says: sentences play in order on the line, each synthesized
 * while the one before plays. Caller speech over them stops them at once
 * (barge-in, Twilio's `clear`) and keeps what was cut, which `resume` plays
 * again from the sentence it cut. A `final` sentence (a goodbye) is never cut,
 * and nothing but another `final` is queued after it.
 */
export class Playback {
  private queue: Utterance[] = [];
  private current: { utterance: Utterance; abort: AbortController } | null = null;
  private pumping = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** The last reply, sentence by sentence, for `*` (repeat). */
  private lastSpoken: string[] = [];

  constructor(
    private readonly state: CallState,
    private readonly settings: Pick<CallSettings, 'resumeWithinMs'>,
    private readonly deps: Pick<CallDeps, 'synthesizer' | 'out' | 'logger'>,
    private readonly hooks: PlaybackHooks,
  ) {}

  /** Whether the queue is being played (a sentence synthesized or playing). */
  get busy(): boolean {
    return this.pumping;
  }

  /** Says `text`, sentence by sentence. */
  speak(text: string, kind: UtteranceKind): void {
    const parts = sentences(speakable(text));
    if (kind === 'reply') this.lastSpoken = parts;
    for (const part of parts) this.enqueue(part, kind);
  }

  /** Says the last reply again. */
  repeat(): void {
    for (const text of this.lastSpoken) this.enqueue(text, 'reply');
  }

  /** Stops what plays and drops what waits, except the goodbye (the call then ends). */
  stop(): void {
    if (this.queue.length === 0) return;
    if (this.queue[0]?.kind !== 'final') {
      this.current?.abort.abort();
      this.deps.out.clear();
    }
    this.queue = this.queue.filter((u) => u.kind === 'final');
  }

  /**
   * The caller started speaking: barge-in stops the reply now and keeps what
   * it had left (the sentence playing is the queue's first) in case this
   * was no words. The goodbye is not cut.
   */
  bargeIn(): void {
    if (this.queue.length === 0 || this.state.line === 'closing') return;
    const cut = this.queue.filter((u) => u.kind !== 'final');
    if (cut.length === 0) return;
    this.state.cut(cut.map((u) => ({ ...u }))); // their audio, when made, plays again as is
    this.stop();
  }

  /** Never dead air: what barge-in cut plays again by `resumeWithinMs` after the noise, at the latest. */
  resumeBy(lastVoiceAt: number): void {
    const left = (this.settings.resumeWithinMs ?? 1_800) - (Date.now() - lastVoiceAt);
    this.resumeTimer = setTimeout(
      () => {
        if (this.resume()) this.hooks.resumedAtDeadline();
      },
      Math.max(0, left),
    );
  }

  cancelResume(): void {
    clearTimeout(this.resumeTimer);
  }

  /** Plays again what barge-in cut, from the sentence it cut; false when nothing was resumed. */
  resume(): boolean {
    clearTimeout(this.resumeTimer);
    // The caller is speaking again: what they say decides (a new turn, or another resume).
    if (this.hooks.callerSpeaking()) return false;
    const cut = this.state.uncut();
    if (!cut || this.state.ended) return false;
    this.queue.unshift(...cut);
    void this.pump();
    return true;
  }

  /** The call ended: what plays stops, nothing more is played. */
  end(): void {
    this.current?.abort.abort();
    clearTimeout(this.resumeTimer);
    this.queue = [];
  }

  private enqueue(text: string, kind: UtteranceKind): void {
    // After the goodbye nothing more is said: the call ends when it has played.
    if (this.state.ended || (this.state.line === 'closing' && kind !== 'final')) return;
    if (kind === 'final') this.state.close();
    this.queue.push({ text, kind });
    this.hooks.queued();
    void this.pump();
  }

  private synthesize(utterance: Utterance): Promise<Int16Array> {
    utterance.audio ??= this.deps.synthesizer.synthesize(utterance.text, this.hooks.context());
    // Failures surface where the audio is awaited.
    utterance.audio.catch(() => undefined);
    return utterance.audio;
  }

  /** Plays the queue in order; the next sentence is synthesized while one plays. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.state.ended) {
        const utterance = this.queue[0]!;
        const abort = new AbortController();
        this.current = { utterance, abort };
        let pcm: Int16Array;
        try {
          pcm = await this.synthesize(utterance);
        } catch (err) {
          if (this.state.ended) break;
          if (abort.signal.aborted) continue; // barge-in emptied the queue: play what came since
          this.deps.logger.error({ err }, 'No synthesis for a sentence; skipped');
          this.done(utterance);
          continue;
        }
        if (this.state.ended) break;
        if (abort.signal.aborted) continue;
        if (this.queue[1]) void this.synthesize(this.queue[1]);
        this.hooks.starting();
        const played = await this.deps.out.play(pcm);
        if (!played || abort.signal.aborted) continue;
        this.done(utterance);
      }
    } finally {
      this.current = null;
      this.pumping = false;
    }
    if (this.state.ended || this.queue.length > 0 || this.state.bargeIn.phase === 'cut') return;
    this.hooks.drained();
  }

  /** Takes a sentence that has played (or could not be made) off the queue. */
  private done(utterance: Utterance): void {
    const at = this.queue.indexOf(utterance);
    if (at >= 0) this.queue.splice(at, 1);
  }
}
