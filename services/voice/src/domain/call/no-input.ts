import type { CallState } from './state.js';
import type { CallSettings } from './types.js';

/** What the no-input deadlines need from the session, and tell it. */
export interface NoInputHooks {
  /** Whether the caller is speaking now. */
  callerSpeaking(): boolean;
  /** Whether something is being played to the caller. */
  playing(): boolean;
  /** The caller stayed silent: ask whether they are still there, or (`last`) say goodbye. */
  silence(last: boolean): void;
}

/**
 * The deadlines for silence on the line. The caller's: once nothing plays
 * and nothing is owed to them, `noInputMs` of silence is met with "are you
 * still there?", and the `maxNoInputs`th with a goodbye (never while they
 * wait for an agent). The conversation's: a turn with no answer within 30 s
 * is given up, and the caller's deadline starts again.
 */
export class NoInput {
  private timer: NodeJS.Timeout | undefined;
  private silences = 0;
  private answerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: CallState,
    private readonly settings: Pick<CallSettings, 'noInputMs' | 'maxNoInputs'>,
    private readonly hooks: NoInputHooks,
  ) {}

  /** Starts the caller's deadline, unless they speak, something plays, or an answer is owed. */
  arm(): void {
    this.disarm();
    if (
      this.state.ended ||
      this.state.handoff === 'waiting' ||
      this.hooks.callerSpeaking() ||
      this.hooks.playing()
    )
      return;
    if (this.state.turn.phase === 'awaiting-answer') return; // waiting for the answer
    this.timer = setTimeout(() => {
      this.silences++;
      this.hooks.silence(this.silences >= (this.settings.maxNoInputs ?? 2));
    }, this.settings.noInputMs ?? 10_000);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The caller spoke or pressed a key: the count of silences starts again. */
  heard(): void {
    this.silences = 0;
    this.disarm();
  }

  /** A turn was posted: an answer normally comes within seconds; if none does, listening resumes. */
  awaitAnswer(): void {
    clearTimeout(this.answerTimer);
    this.answerTimer = setTimeout(() => {
      this.state.turnOver();
      this.arm();
    }, 30_000);
  }

  /** The conversation replied. */
  answered(): void {
    clearTimeout(this.answerTimer);
  }

  end(): void {
    clearTimeout(this.answerTimer);
    clearTimeout(this.timer);
  }
}
