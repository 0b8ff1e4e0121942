import type { Logger } from '@parley/observability';
import type { SpeechContext, Synthesizer, Transcriber, TranscriptionStream } from '../speech.js';
import type { VadOptions } from '../vad.js';

/**
 * The types a call's parts share (the session, its state, playback, keypad,
 * no-input and recognition), kept apart so that no part imports the session.
 */

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
/**
 * How a barge-in (caller speech that cut a reply) ended, counted once each:
 * `turn`, their words were the next turn; `false`, no words, the reply
 * resumed; `deadline`, the reply resumed at the deadline before recognition
 * decided (words that come later still make the next turn); `not_heard`,
 * recognition failed and the caller was asked to say it again.
 */
export type BargeInOutcome = 'turn' | 'false' | 'deadline' | 'not_heard';

export interface CallObserver {
  /** End of caller speech to the first frame of the answer. */
  turnLatency(seconds: number): void;
  bargeIn(outcome: BargeInOutcome): void;
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

/** The recognizer a call uses: whole utterances, and live ones when its provider streams. */
export type CallTranscriber = Transcriber & {
  /** Live recognition while the caller speaks, when the provider streams (else null). */
  stream?(context: SpeechContext): Promise<TranscriptionStream | null>;
  /** Whether the provider that would answer now can stream. */
  streamsNow?(): boolean;
};

/** What a call is connected to. The parts read these at each use, never a copy. */
export interface CallDeps {
  transcriber: CallTranscriber;
  synthesizer: Synthesizer;
  out: CallAudioOut;
  conversation: CallConversation;
  observer: CallObserver;
  logger: Logger;
  /** The caller's number, for a callback (null when withheld). */
  callerNumber: string | null;
}

/**
 * What a sentence is for: part of an answer (`*` repeats the last one), a
 * prompt of the session's own, or the last thing said before the call hangs up.
 */
export type UtteranceKind = 'reply' | 'prompt' | 'final';

/** One sentence to say, with its audio once synthesis has started. */
export interface Utterance {
  text: string;
  kind: UtteranceKind;
  audio?: Promise<Int16Array>;
}
