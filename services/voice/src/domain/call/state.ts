import type { ConversationState } from '@parley/contracts';
import type { Utterance } from './types.js';

/**
 * Where a call is. Several things happen at once on a phone line (the caller
 * may talk over an answer while their previous turn still waits for its
 * reply), so the state has four parts, each with its own phases; every
 * transition is a method below, and nothing else changes the state.
 *
 *   line      open ──a last sentence is queued──▶ closing ──it played──▶ ended
 *             open or closing ──the caller hung up, the channel failed, eviction──▶ ended
 *
 *   turn      listening ──the caller's words or keys are posted──▶ awaiting-answer
 *             awaiting-answer ──first audio after it / no answer in 30 s / post failed──▶ listening
 *
 *   bargeIn   none ──caller speech cuts what plays (never the last sentence)──▶ cut
 *             cut ──words: a new turn / a key / eviction / recognition failed──▶ none (dropped)
 *             cut ──no words, or the resume deadline──▶ none (played again)
 *
 *   handoff   none ⇄ waiting (for an agent: silence is then not met with prompts)
 *
 * What the caller is doing moment to moment (speaking or not) is the voice
 * activity detector's; whether audio is playing is the playback's.
 */

/** The line: `closing` once a last sentence (a goodbye) is queued: nothing else is said or keyed. */
export type LinePhase = 'open' | 'closing' | 'ended';

/** The caller's last turn, from the end of their speech (or keys) to the first audio of its answer. */
export type TurnState =
  | { phase: 'listening' }
  | {
      phase: 'awaiting-answer';
      /** When the caller's speech ended (or they keyed). */
      endedAt: number;
      /** When their words were recognized and posted. */
      recognizedAt: number;
      /** When the conversation first replied (0 until it does). */
      answeredAt: number;
    };

/** A barge-in: what it cut off, kept until we know whether the caller said words. */
export type BargeInState = { phase: 'none' } | { phase: 'cut'; left: Utterance[] };

/** Whether a handoff to a person is waiting for an agent. */
export type HandoffState = ConversationState['handoff'];

const LISTENING: TurnState = { phase: 'listening' };
const NO_BARGE_IN: BargeInState = { phase: 'none' };

/** One call's state (see the diagram above). */
export class CallState {
  private current: {
    line: LinePhase;
    turn: TurnState;
    bargeIn: BargeInState;
    handoff: HandoffState;
  } = { line: 'open', turn: LISTENING, bargeIn: NO_BARGE_IN, handoff: 'none' };

  get line(): LinePhase {
    return this.current.line;
  }

  get ended(): boolean {
    return this.current.line === 'ended';
  }

  get turn(): TurnState {
    return this.current.turn;
  }

  /** A new object at each barge-in, so that one can tell whether it is still the same one. */
  get bargeIn(): BargeInState {
    return this.current.bargeIn;
  }

  get handoff(): HandoffState {
    return this.current.handoff;
  }

  /** open → closing: a last sentence is queued; the line hangs up once it has played. */
  close(): void {
    if (this.current.line === 'open') this.current.line = 'closing';
  }

  /** → ended; false when the call had already ended. */
  end(): boolean {
    if (this.current.line === 'ended') return false;
    this.current.line = 'ended';
    return true;
  }

  /** → awaiting-answer: the caller's words (or keys) are recognized and posted now. */
  turnPosted(endedAt: number): void {
    this.current.turn = {
      phase: 'awaiting-answer',
      endedAt,
      recognizedAt: Date.now(),
      answeredAt: 0,
    };
  }

  /** The conversation replied: the first reply to the awaited turn is timed. */
  replied(): void {
    const turn = this.current.turn;
    if (turn.phase === 'awaiting-answer' && turn.answeredAt === 0) turn.answeredAt = Date.now();
  }

  /** awaiting-answer → listening: its answer starts playing, none came in time, or the post failed. */
  turnOver(): void {
    this.current.turn = LISTENING;
  }

  /** → cut: the caller spoke over what plays; `left` is what it had still to say. */
  cut(left: Utterance[]): void {
    this.current.bargeIn = { phase: 'cut', left };
  }

  /** cut → none: what the barge-in cut (to play again or drop); null when nothing was cut. */
  uncut(): Utterance[] | null {
    const bargeIn = this.current.bargeIn;
    this.current.bargeIn = NO_BARGE_IN;
    return bargeIn.phase === 'cut' ? bargeIn.left : null;
  }

  /** none ⇄ waiting: the conversation's handoff state. */
  handoffIs(handoff: HandoffState): void {
    this.current.handoff = handoff;
  }
}
