import type { LiveUpdate } from '@parley/contracts';
import { Keypad } from './call/keypad.js';
import { NoInput } from './call/no-input.js';
import { Playback } from './call/playback.js';
import { Recognition, type LiveRecognition } from './call/recognition.js';
import { CallState } from './call/state.js';
import type { CallDeps, CallSettings } from './call/types.js';
import { concat } from './pcm.js';
import { hasWords, type SpeechContext } from './speech.js';
import { soundsLikeWords } from './syllables.js';
import { VoiceActivityDetector } from './vad.js';

export type {
  CallAudioOut,
  CallConversation,
  CallDeps,
  CallObserver,
  CallSettings,
} from './call/types.js';

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

/**
 * One phone call's voice pipeline: caller audio → voice activity detection →
 * recognition → the caller's message on the conversation; the conversation's
 * answers → synthesis, sentence by sentence (the next is made while one
 * plays) → paced audio. Caller speech during playback stops it at once
 * (barge-in); if it held no words (a cough, an "mhm"), the reply resumes from
 * the sentence it cut. Keys: 0 asks for an agent, * repeats, digits ending
 * in # (or a pause) are sent as the caller's message. Silence is met with
 * "are you still there?", then a polite goodbye.
 *
 * The session routes what happens on the line to its parts and decides the
 * turns; the call's phases and transitions are in `call/state.ts`, and the
 * parts in `call/`: playback, recognition, keypad and no-input.
 */
export class CallSession {
  private readonly state = new CallState();
  private readonly detector: VoiceActivityDetector;
  private readonly aborter = new AbortController();
  private readonly playback: Playback;
  private readonly recognition: Recognition;
  private readonly keypad: Keypad;
  private readonly noInput: NoInput;

  constructor(
    private readonly settings: CallSettings,
    /** Shared with the parts, which read it at each use. */
    private readonly deps: CallDeps,
  ) {
    this.detector = new VoiceActivityDetector(settings.vad ?? {});
    const context = () => this.context();
    const callerSpeaking = () => this.detector.inSpeech;
    this.playback = new Playback(this.state, settings, deps, {
      context,
      callerSpeaking,
      queued: () => this.noInput.disarm(),
      starting: () => this.answerStarts(),
      drained: () => this.drained(),
      resumedAtDeadline: () => this.deps.observer.bargeIn('deadline'),
    });
    this.recognition = new Recognition(settings, deps, context);
    this.noInput = new NoInput(this.state, settings, {
      callerSpeaking,
      playing: () => this.playback.busy,
      silence: (last) =>
        last
          ? this.playback.speak(PROMPTS.goodbye, 'final')
          : this.playback.speak(PROMPTS.stillThere, 'prompt'),
    });
    this.keypad = new Keypad(settings, {
      agent: () => {
        this.playback.stop();
        this.state.uncut();
        this.postTurn(PROMPTS.agent, Date.now());
      },
      repeat: () => {
        this.playback.stop();
        this.state.uncut();
        this.playback.repeat();
      },
      keying: () => this.playback.stop(),
      send: (keyed) => this.postTurn(`Keyed in: ${keyed}`, Date.now()),
    });
  }

  /** Greets the caller. */
  start(): void {
    this.playback.speak(this.settings.greeting, 'prompt');
  }

  /** One 20 ms frame of the caller's audio (8 kHz PCM). */
  audio(frame: Int16Array): void {
    if (this.state.ended) return;
    const event = this.detector.push(frame);
    if (!event) {
      if (this.detector.inSpeech) this.recognition.listen(frame);
      return;
    }
    if (event.kind === 'start') {
      this.recognition.begin(event.frames);
      return this.speechStarted();
    }
    this.recognition.listen(frame);
    if (event.kind === 'pause') return this.recognition.paused(event.frames, event.speechMs);
    const live = this.recognition.takeLive();
    void this.speechEnded(
      concat(event.frames),
      event.speechMs,
      event.lastVoiceAt,
      live,
      soundsLikeWords(event.frames),
    );
  }

  /** A key the caller pressed. */
  digit(key: string): void {
    if (this.state.line !== 'open') return;
    this.noInput.heard();
    this.keypad.press(key);
  }

  /** A live update of the conversation: answers are spoken, handoff states followed. */
  update(update: LiveUpdate): void {
    if (this.state.ended) return;
    switch (update.kind) {
      case 'message':
        if (update.message.role === 'user') return;
        this.replied();
        this.playback.speak(update.message.text, 'reply');
        return;
      case 'state':
        this.state.handoffIs(update.state.handoff);
        if (this.state.handoff === 'waiting') this.noInput.disarm();
        return;
      case 'queue':
        this.playback.speak(PROMPTS.queue(update.position), 'prompt');
        return;
      case 'callback_offer':
        this.replied();
        if (!this.deps.callerNumber) {
          this.playback.speak(PROMPTS.callbackNoNumber, 'final');
          return;
        }
        this.playback.speak(PROMPTS.callback, 'prompt');
        void this.deps.conversation
          .requestCallback(this.deps.callerNumber)
          .catch((err: unknown) => {
            this.deps.logger.error({ err }, 'Callback request failed');
            this.playback.speak(PROMPTS.trouble, 'final');
          });
        return;
      case 'callback_saved':
        this.playback.speak(PROMPTS.callbackSaved, 'final');
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
    if (this.state.ended) return;
    this.playback.stop();
    this.state.uncut();
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
    this.playback.speak(number ? PROMPTS.evicted : PROMPTS.evictedNoNumber, 'final');
    // The goodbye plays, then the session hangs up by itself (a 'final' sentence); or the time is up.
    const deadline = Date.now() + withinMs;
    while (!this.state.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!this.state.ended) {
      this.deps.out.hangUp();
      this.end();
    }
    await Promise.race([booked, new Promise((r) => setTimeout(r, 2_000))]);
  }

  /** The call ended: everything in flight is cancelled. */
  end(): void {
    if (!this.state.end()) return;
    this.aborter.abort(new Error('call ended'));
    this.recognition.end();
    this.playback.end();
    this.noInput.end();
    this.keypad.end();
  }

  private speechStarted(): void {
    this.noInput.heard();
    this.playback.cancelResume();
    this.playback.bargeIn();
  }

  private async speechEnded(
    audio: Int16Array,
    speechMs: number,
    lastVoiceAt: number,
    live: LiveRecognition | null,
    /** Several syllables (see `syllables.ts`): a question, not a cough or an "mhm". */
    words: boolean,
  ): Promise<void> {
    const bargeIn = this.state.bargeIn;
    const cut = bargeIn.phase === 'cut' ? bargeIn : null;
    /** Whether what this utterance cut still waits (not resumed, not cut again). */
    const stillCut = () => cut !== null && this.state.bargeIn === cut;
    // Never dead air: if recognition of a noise is slow, the reply resumes anyway (by 1.8 s
    // after it). Words are waited for instead: the old answer is never replayed over a
    // question, and a question recognition fails on is asked again ("didn't catch that").
    if (cut && !words) this.playback.resumeBy(lastVoiceAt);
    if (this.recognition.isNoise(speechMs)) {
      this.recognition.drop(live);
      if (stillCut()) this.falseBargeIn();
      return;
    }
    let text: string;
    try {
      text = await this.recognition.words(audio, speechMs, live);
    } catch (err) {
      if (this.state.ended) return;
      this.deps.logger.warn({ err }, 'Recognition failed for an utterance');
      this.playback.cancelResume();
      if (stillCut()) this.deps.observer.bargeIn('not_heard');
      this.state.uncut();
      this.playback.speak(PROMPTS.notHeard, 'prompt');
      return;
    }
    if (this.state.ended) return;
    if (!hasWords(text)) {
      if (stillCut()) this.falseBargeIn();
      else if (!cut) this.noInput.arm();
      return;
    }
    this.playback.cancelResume();
    if (cut) {
      // Counted once: a reply resumed at the deadline was counted then.
      if (stillCut()) this.deps.observer.bargeIn('turn');
      this.playback.stop(); // in case the reply had resumed meanwhile
    }
    this.state.uncut();
    this.postTurn(text, lastVoiceAt);
  }

  /** The caller's speech cut what played but held no words: it plays again. */
  private falseBargeIn(): void {
    if (this.playback.resume()) this.deps.observer.bargeIn('false');
  }

  private postTurn(text: string, endedAt: number): void {
    this.state.turnPosted(endedAt);
    this.noInput.awaitAnswer();
    this.deps.conversation.post(text).catch((err: unknown) => {
      this.deps.logger.error({ err }, 'Caller message not accepted');
      this.state.turnOver();
      this.playback.speak(PROMPTS.trouble, 'final');
    });
  }

  private replied(): void {
    this.noInput.answered();
    this.state.replied();
  }

  /** Whatever the conversation says first after a turn answers it (a reply, a queue position). */
  private answerStarts(): void {
    const turn = this.state.turn;
    if (turn.phase !== 'awaiting-answer') return;
    const now = Date.now();
    const { endedAt, recognizedAt, answeredAt } = turn;
    this.deps.observer.turnLatency((now - endedAt) / 1000);
    this.deps.logger.info(
      {
        turnMs: now - endedAt,
        recognizedMs: recognizedAt ? recognizedAt - endedAt : null,
        answerMs: recognizedAt && answeredAt ? answeredAt - recognizedAt : null,
        synthesisMs: answeredAt ? now - answeredAt : null,
      },
      'Turn answered',
    );
    this.state.turnOver();
  }

  /** Everything has played: after the goodbye the line hangs up; else the caller's silence is timed. */
  private drained(): void {
    if (this.state.line === 'closing') {
      this.deps.out.hangUp();
      this.end();
      return;
    }
    this.noInput.arm();
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
