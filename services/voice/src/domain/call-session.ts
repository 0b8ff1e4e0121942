import type { LiveUpdate } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import { concat } from './pcm.js';
import {
  hasWords,
  sentences,
  speakable,
  type SpeechContext,
  type Synthesizer,
  type Transcriber,
  type TranscriptionStream,
} from './speech.js';
import { VoiceActivityDetector, type VadOptions } from './vad.js';

/** The caller's side of the line, as the session drives it. */
export interface CallAudioOut {
  /** Plays 8 kHz PCM, paced in 20 ms frames; true once played, false when cleared first. */
  play(pcm: Int16Array): Promise<boolean>;
  /** Stops what is playing at once and drops the rest (Twilio's `clear`). */
  clear(): void;
  hangUp(): void;
}

/** The conversation the call is part of. */
export interface CallConversation {
  /** Posts what the caller said (or keyed in) as their message. */
  post(text: string): Promise<void>;
  /** Asks for a call back at `phone` (the callback queue). */
  requestCallback(phone: string): Promise<void>;
}

/** What the voice pipeline reports. */
export interface CallObserver {
  /** End of caller speech to the first frame of the answer. */
  turnLatency(seconds: number): void;
  bargeIn(outcome: 'turn' | 'false'): void;
}

/** Settings of one call. */
export interface CallSettings {
  language: string;
  voice?: string;
  /** Words the caller is likely to say, as a recognition hint. */
  prompt?: string;
  greeting: string;
  vad?: VadOptions;
  /** Caller silence before "are you still there?". @default 10 000 ms */
  noInputMs?: number;
  /** Prompts for silence before the polite hang-up. @default 2 */
  maxNoInputs?: number;
  /** Speech shorter than this during playback is noise (a cough, a click): no recognition. @default 250 ms */
  minUtteranceMs?: number;
  /** After a false barge-in, the reply resumes this long after the noise at the latest. @default 1800 ms */
  resumeWithinMs?: number;
  /** Pause after the last keypress before the digits are sent. @default 3000 ms */
  digitTimeoutMs?: number;
}

export const PROMPTS = {
  notHeard: "Sorry, I didn't catch that. Could you say it again?",
  stillThere: 'Are you still there?',
  goodbye: 'Thank you for calling. Goodbye.',
  trouble: "Sorry, I'm having trouble on this line. Please call again later. Goodbye.",
  agent: 'I would like to talk to an agent (pressed 0).',
  callback:
    'All of our agents are busy right now. We will call you back at the number you are calling from.',
  callbackNoNumber:
    'All of our agents are busy right now, and I cannot see your number. Please call again later. Goodbye.',
  callbackSaved: 'Your call back is booked. Thank you for calling. Goodbye.',
  evicted:
    'Sorry, we have to end this call now. We will call you back at this number shortly. Goodbye.',
  evictedNoNumber: 'Sorry, we have to end this call now. Please call us again. Goodbye.',
  queue: (position: number) =>
    position === 1
      ? 'You are next in line for an agent.'
      : `You are number ${position} in line for an agent.`,
} as const;

type Kind = 'reply' | 'prompt' | 'final';

interface Utterance {
  text: string;
  kind: Kind;
  audio?: Promise<Int16Array>;
}

/**
 * One phone call's voice pipeline: caller audio → voice activity detection →
 * recognition → the caller's message on the conversation; the conversation's
 * answers → synthesis, sentence by sentence (the next is made while one
 * plays) → paced audio. Caller speech during playback stops it at once
 * (barge-in); if it held no words (a cough, an "mhm"), the reply resumes from
 * the sentence it cut. Keys: 0 asks for an agent, * repeats, digits ending
 * in # (or a pause) are sent as the caller's message. Silence is met with
 * "are you still there?", then a polite goodbye.
 */
export class CallSession {
  private readonly vad: VadOptions;
  private readonly detector: VoiceActivityDetector;
  private queue: Utterance[] = [];
  private playing: { utterance: Utterance; abort: AbortController } | null = null;
  private pumping = false;
  /** What barge-in cut off, kept until we know whether the caller said words. */
  private interrupted: Utterance[] | null = null;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** End of the caller's last turn, until its answer starts playing. */
  private turnEndedAt: number | null = null;
  /** Where the last turn's time went (logged without its words). */
  private turnTimes = { recognizedAt: 0, answeredAt: 0 };
  private awaitingReplyTimer: NodeJS.Timeout | undefined;
  private noInputTimer: NodeJS.Timeout | undefined;
  private noInputs = 0;
  private holding = false;
  private hangUpAfterPlayback = false;
  private digits = '';
  private digitTimer: NodeJS.Timeout | undefined;
  private lastSpoken: string[] = [];
  private ended = false;
  private readonly aborter = new AbortController();
  /** The utterance in progress, streamed to a live recognizer (null: recognized whole at its end). */
  private live: {
    stream: Promise<TranscriptionStream | null>;
    queued: Int16Array[] | null;
  } | null = null;
  /** Recognition started at a pause, used if the utterance ends without more speech. */
  private speculation: { speechMs: number; text: Promise<string>; abort: AbortController } | null =
    null;

  constructor(
    private readonly settings: CallSettings,
    private readonly deps: {
      transcriber: Transcriber & {
        /** Live recognition while the caller speaks, when the provider streams (else null). */
        stream?(context: SpeechContext): Promise<TranscriptionStream | null>;
        /** Whether the provider that would answer now can stream. */
        streamsNow?(): boolean;
      };
      synthesizer: Synthesizer;
      out: CallAudioOut;
      conversation: CallConversation;
      observer: CallObserver;
      logger: Logger;
      /** The caller's number, for a callback (null when withheld). */
      callerNumber: string | null;
    },
  ) {
    this.vad = settings.vad ?? {};
    this.detector = new VoiceActivityDetector(this.vad);
  }

  /** Greets the caller. */
  start(): void {
    this.speak(this.settings.greeting, 'prompt');
  }

  /** One 20 ms frame of the caller's audio (8 kHz PCM). */
  audio(frame: Int16Array): void {
    if (this.ended) return;
    const event = this.detector.push(frame);
    if (!event) {
      if (this.detector.inSpeech) this.listen(frame);
      return;
    }
    if (event.kind === 'start') {
      this.openLive(event.frames);
      return this.speechStarted();
    }
    this.listen(frame);
    if (event.kind === 'pause') {
      if (!this.live) this.speculate(concat(event.frames), event.speechMs);
      return;
    }
    const live = this.live;
    this.live = null;
    void this.speechEnded(concat(event.frames), event.speechMs, event.lastVoiceAt, live);
  }

  /** A key the caller pressed. */
  digit(key: string): void {
    if (this.ended || this.hangUpAfterPlayback) return;
    clearTimeout(this.digitTimer);
    this.noInputs = 0;
    this.disarmNoInput();
    if (key === '0' && this.digits === '') {
      this.stopPlayback();
      this.interrupted = null;
      this.postTurn(PROMPTS.agent, Date.now());
      return;
    }
    if (key === '*') {
      this.stopPlayback();
      this.interrupted = null;
      for (const text of this.lastSpoken) this.enqueue(text, 'reply');
      return;
    }
    if (key === '#') return this.sendDigits();
    if (/^[0-9]$/.test(key)) {
      this.stopPlayback();
      this.digits = (this.digits + key).slice(-32);
      this.digitTimer = setTimeout(() => this.sendDigits(), this.settings.digitTimeoutMs ?? 3_000);
    }
  }

  /** A live update of the conversation: answers are spoken, handoff states followed. */
  update(update: LiveUpdate): void {
    if (this.ended) return;
    switch (update.kind) {
      case 'message':
        if (update.message.role === 'user') return;
        this.replied();
        this.speak(update.message.text, 'reply');
        return;
      case 'state':
        this.holding = update.state.handoff === 'waiting';
        if (this.holding) this.disarmNoInput();
        return;
      case 'queue':
        this.speak(PROMPTS.queue(update.position), 'prompt');
        return;
      case 'callback_offer':
        this.replied();
        if (!this.deps.callerNumber) {
          this.speak(PROMPTS.callbackNoNumber, 'final');
          return;
        }
        this.speak(PROMPTS.callback, 'prompt');
        void this.deps.conversation
          .requestCallback(this.deps.callerNumber)
          .catch((err: unknown) => {
            this.deps.logger.error({ err }, 'Callback request failed');
            this.speak(PROMPTS.trouble, 'final');
          });
        return;
      case 'callback_saved':
        this.speak(PROMPTS.callbackSaved, 'final');
        return;
      default:
        return;
    }
  }

  /**
   * This process must stop (the drain deadline): the caller is told, their
   * number goes to the callback queue, and the call ends within `withinMs`.
   */
  async evict(withinMs: number): Promise<void> {
    if (this.ended) return;
    this.stopPlayback();
    this.interrupted = null;
    const number = this.deps.callerNumber;
    const booked = number
      ? this.deps.conversation.requestCallback(number).then(
          () => true,
          (err: unknown) => {
            this.deps.logger.error({ err }, 'Callback request at the drain deadline failed');
            return false;
          },
        )
      : Promise.resolve(false);
    this.speak(number ? PROMPTS.evicted : PROMPTS.evictedNoNumber, 'final');
    // The goodbye plays, then the session hangs up by itself (a 'final' sentence); or the time is up.
    const deadline = Date.now() + withinMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!this.ended) {
      this.deps.out.hangUp();
      this.end();
    }
    await Promise.race([booked, new Promise((r) => setTimeout(r, 2_000))]);
  }

  /** The call ended: everything in flight is cancelled. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.aborter.abort(new Error('call ended'));
    void this.live?.stream.then((s) => s?.abort()).catch(() => undefined);
    this.live = null;
    this.playing?.abort.abort();
    for (const timer of [
      this.resumeTimer,
      this.awaitingReplyTimer,
      this.noInputTimer,
      this.digitTimer,
    ])
      clearTimeout(timer);
    this.queue = [];
  }

  private speechStarted(): void {
    this.dropSpeculation(false);
    this.noInputs = 0;
    this.disarmNoInput();
    clearTimeout(this.resumeTimer);
    if (this.queue.length === 0 || this.hangUpAfterPlayback) return; // the goodbye is not cut
    // Barge-in: stop the reply now; keep what it had left (the sentence playing is the
    // queue's first) in case this was no words.
    const cut = this.queue.filter((u) => u.kind !== 'final');
    if (cut.length === 0) return;
    this.interrupted = cut.map((u) => ({ ...u })); // their audio, when made, plays again as is
    this.stopPlayback();
  }

  /** Starts live recognition of the utterance that just began (its frames so far first). */
  private openLive(frames: Int16Array[]): void {
    void this.live?.stream.then((s) => s?.abort()).catch(() => undefined);
    this.live = null;
    // Live only when the provider that would answer now streams; else speculation at pauses.
    if (!this.deps.transcriber.stream || !this.deps.transcriber.streamsNow?.()) return;
    const live = {
      stream: this.deps.transcriber.stream(this.context()).catch(() => null),
      queued: [...frames] as Int16Array[] | null,
    };
    void live.stream
      .then((stream) => {
        for (const frame of live.queued ?? []) stream?.write(frame);
      })
      .catch(() => undefined)
      .finally(() => (live.queued = null));
    this.live = live;
  }

  /** One more frame of the utterance, for the live recognizer. */
  private listen(frame: Int16Array): void {
    const live = this.live;
    if (!live) return;
    if (live.queued) live.queued.push(frame);
    else void live.stream.then((stream) => stream?.write(frame)).catch(() => undefined);
  }

  /** The words of an utterance: live when it streamed, else the speculation or a whole request. */
  private async recognize(
    audio: Int16Array,
    live: { stream: Promise<TranscriptionStream | null> } | null,
    speculation: Promise<string> | null,
  ): Promise<string> {
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

  private async speechEnded(
    audio: Int16Array,
    speechMs: number,
    lastVoiceAt: number,
    live: { stream: Promise<TranscriptionStream | null> } | null = null,
  ): Promise<void> {
    const cut = this.interrupted;
    if (cut) {
      // Never dead air: if recognition is slow, the reply resumes anyway (by 1.8 s after the noise).
      const left = (this.settings.resumeWithinMs ?? 1_800) - (Date.now() - lastVoiceAt);
      this.resumeTimer = setTimeout(() => this.resume(), Math.max(0, left));
    }
    if (speechMs < (this.settings.minUtteranceMs ?? 250)) {
      void live?.stream.then((s) => s?.abort()).catch(() => undefined);
      if (cut && this.interrupted === cut) this.falseBargeIn();
      return;
    }
    // The speculation holds the same speech when the caller said nothing more after the pause.
    const speculation = this.speculation?.speechMs === speechMs ? this.speculation.text : null;
    this.dropSpeculation(speculation !== null);
    let text: string;
    try {
      text = await this.recognize(audio, live, speculation);
    } catch (err) {
      if (this.ended) return;
      this.deps.logger.warn({ err }, 'Recognition failed for an utterance');
      clearTimeout(this.resumeTimer);
      this.interrupted = null;
      this.speak(PROMPTS.notHeard, 'prompt');
      return;
    }
    if (this.ended) return;
    if (!hasWords(text)) {
      if (cut && this.interrupted === cut) this.falseBargeIn();
      else if (!cut) this.armNoInput();
      return;
    }
    clearTimeout(this.resumeTimer);
    if (cut) {
      this.deps.observer.bargeIn('turn');
      this.stopPlayback(); // in case the reply had resumed meanwhile
    }
    this.interrupted = null;
    this.postTurn(text, lastVoiceAt);
  }

  /**
   * The caller paused: recognition starts now on the utterance so far, so
   * that if the pause turns out to be its end, the text is (nearly) ready.
   */
  private speculate(audio: Int16Array, speechMs: number): void {
    this.dropSpeculation(false);
    if (speechMs < (this.settings.minUtteranceMs ?? 250)) return;
    const abort = new AbortController();
    const text = this.deps.transcriber.transcribe(audio, {
      ...this.context(),
      signal: AbortSignal.any([this.aborter.signal, abort.signal]),
    });
    text.catch(() => undefined);
    this.speculation = { speechMs, text, abort };
  }

  /** Forgets the speculation; cancels it unless it is being used. */
  private dropSpeculation(used: boolean): void {
    if (this.speculation && !used) this.speculation.abort.abort(new Error('caller spoke on'));
    this.speculation = null;
  }

  private falseBargeIn(): void {
    this.deps.observer.bargeIn('false');
    this.resume();
  }

  /** Plays again what barge-in cut, from the sentence it cut. */
  private resume(): void {
    clearTimeout(this.resumeTimer);
    // The caller is speaking again: what they say decides (a new turn, or another resume).
    if (this.detector.inSpeech) return;
    const cut = this.interrupted;
    this.interrupted = null;
    if (!cut || this.ended) return;
    this.queue.unshift(...cut);
    void this.pump();
  }

  private postTurn(text: string, endedAt: number): void {
    this.turnEndedAt = endedAt;
    this.turnTimes = { recognizedAt: Date.now(), answeredAt: 0 };
    clearTimeout(this.awaitingReplyTimer);
    // An answer normally comes within seconds; if none does, listening resumes.
    this.awaitingReplyTimer = setTimeout(() => {
      this.turnEndedAt = null;
      this.armNoInput();
    }, 30_000);
    this.deps.conversation.post(text).catch((err: unknown) => {
      this.deps.logger.error({ err }, 'Caller message not accepted');
      this.turnEndedAt = null;
      this.speak(PROMPTS.trouble, 'final');
    });
  }

  private replied(): void {
    clearTimeout(this.awaitingReplyTimer);
    if (this.turnEndedAt !== null && this.turnTimes.answeredAt === 0)
      this.turnTimes.answeredAt = Date.now();
  }

  private sendDigits(): void {
    clearTimeout(this.digitTimer);
    if (!this.digits) return;
    const keyed = this.digits;
    this.digits = '';
    this.postTurn(`Keyed in: ${keyed}`, Date.now());
  }

  private speak(text: string, kind: Kind): void {
    const parts = sentences(speakable(text));
    if (kind === 'reply') this.lastSpoken = parts;
    for (const part of parts) this.enqueue(part, kind);
  }

  private enqueue(text: string, kind: Kind): void {
    // After the goodbye nothing more is said: the call ends when it has played.
    if (this.ended || (this.hangUpAfterPlayback && kind !== 'final')) return;
    if (kind === 'final') this.hangUpAfterPlayback = true;
    this.queue.push({ text, kind });
    this.disarmNoInput();
    void this.pump();
  }

  private synthesize(utterance: Utterance): Promise<Int16Array> {
    utterance.audio ??= this.deps.synthesizer.synthesize(utterance.text, this.context());
    // Failures surface where the audio is awaited.
    utterance.audio.catch(() => undefined);
    return utterance.audio;
  }

  /** Plays the queue in order; the next sentence is synthesized while one plays. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const utterance = this.queue[0]!;
        const abort = new AbortController();
        this.playing = { utterance, abort };
        let pcm: Int16Array;
        try {
          pcm = await this.synthesize(utterance);
        } catch (err) {
          if (this.ended) break;
          if (abort.signal.aborted) continue; // barge-in emptied the queue: play what came since
          this.deps.logger.error({ err }, 'No synthesis for a sentence; skipped');
          this.done(utterance);
          continue;
        }
        if (this.ended) break;
        if (abort.signal.aborted) continue;
        if (this.queue[1]) void this.synthesize(this.queue[1]);
        // Whatever the conversation says first after a turn answers it (a reply, a queue position).
        if (this.turnEndedAt !== null) {
          const now = Date.now();
          const { recognizedAt, answeredAt } = this.turnTimes;
          this.deps.observer.turnLatency((now - this.turnEndedAt) / 1000);
          this.deps.logger.info(
            {
              turnMs: now - this.turnEndedAt,
              recognizedMs: recognizedAt ? recognizedAt - this.turnEndedAt : null,
              answerMs: recognizedAt && answeredAt ? answeredAt - recognizedAt : null,
              synthesisMs: answeredAt ? now - answeredAt : null,
            },
            'Turn answered',
          );
          this.turnEndedAt = null;
          this.turnTimes = { recognizedAt: 0, answeredAt: 0 };
        }
        const played = await this.deps.out.play(pcm);
        if (!played || abort.signal.aborted) continue;
        this.done(utterance);
      }
    } finally {
      this.playing = null;
      this.pumping = false;
    }
    if (this.ended || this.queue.length > 0 || this.interrupted) return;
    if (this.hangUpAfterPlayback) {
      this.deps.out.hangUp();
      this.end();
      return;
    }
    this.armNoInput();
  }

  /** Takes a sentence that has played (or could not be made) off the queue. */
  private done(utterance: Utterance): void {
    const at = this.queue.indexOf(utterance);
    if (at >= 0) this.queue.splice(at, 1);
  }

  /** Stops what plays and drops what waits, except the goodbye (the call then ends). */
  private stopPlayback(): void {
    if (this.queue.length === 0) return;
    if (this.queue[0]?.kind !== 'final') {
      this.playing?.abort.abort();
      this.deps.out.clear();
    }
    this.queue = this.queue.filter((u) => u.kind === 'final');
  }

  private armNoInput(): void {
    this.disarmNoInput();
    if (this.ended || this.holding || this.detector.inSpeech || this.pumping) return;
    if (this.turnEndedAt !== null) return; // waiting for the answer
    this.noInputTimer = setTimeout(() => {
      this.noInputs++;
      if (this.noInputs >= (this.settings.maxNoInputs ?? 2)) this.speak(PROMPTS.goodbye, 'final');
      else this.speak(PROMPTS.stillThere, 'prompt');
    }, this.settings.noInputMs ?? 10_000);
  }

  private disarmNoInput(): void {
    clearTimeout(this.noInputTimer);
    this.noInputTimer = undefined;
  }

  private context(): SpeechContext {
    return {
      language: this.settings.language,
      ...(this.settings.voice ? { voice: this.settings.voice } : {}),
      ...(this.settings.prompt ? { prompt: this.settings.prompt } : {}),
      signal: this.aborter.signal,
    };
  }
}
