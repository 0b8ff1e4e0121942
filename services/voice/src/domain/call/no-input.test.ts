import { afterEach, describe, expect, it, vi } from 'vitest';
import { NoInput } from './no-input.js';
import { CallState } from './state.js';

function noInput(settings: { noInputMs?: number; maxNoInputs?: number } = {}) {
  const state = new CallState();
  const line = { speaking: false, playing: false };
  const silences: boolean[] = [];
  const deadlines = new NoInput(state, settings, {
    callerSpeaking: () => line.speaking,
    playing: () => line.playing,
    silence: (last) => silences.push(last),
  });
  return { state, line, silences, deadlines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the no-input deadlines', () => {
  it('meet 10 s of silence with a prompt, and the second with the last one', () => {
    vi.useFakeTimers();
    const { deadlines, silences } = noInput();
    deadlines.arm();
    vi.advanceTimersByTime(9_999);
    expect(silences).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(silences).toEqual([false]);
    deadlines.arm();
    vi.advanceTimersByTime(10_000);
    expect(silences).toEqual([false, true]);
  });

  it('count the silences again once the caller is heard', () => {
    vi.useFakeTimers();
    const { deadlines, silences } = noInput({ noInputMs: 1_000 });
    deadlines.arm();
    vi.advanceTimersByTime(1_000);
    deadlines.heard();
    deadlines.arm();
    vi.advanceTimersByTime(1_000);
    expect(silences).toEqual([false, false]);
  });

  it('do not start while the caller speaks, something plays, an answer is owed or an agent is awaited', () => {
    vi.useFakeTimers();
    const { deadlines, silences, line, state } = noInput({ noInputMs: 1_000 });
    const quiet = () => {
      deadlines.arm();
      vi.advanceTimersByTime(5_000);
    };
    line.speaking = true;
    quiet();
    line.speaking = false;
    line.playing = true;
    quiet();
    line.playing = false;
    state.turnPosted(Date.now());
    quiet();
    state.turnOver();
    state.handoffIs('waiting');
    quiet();
    state.handoffIs('none');
    state.end();
    quiet();
    expect(silences).toEqual([]);
  });

  it('give up on an answer after 30 s, and time the caller’s silence again', () => {
    vi.useFakeTimers();
    const { deadlines, silences, state } = noInput({ noInputMs: 1_000 });
    state.turnPosted(Date.now());
    deadlines.awaitAnswer();
    vi.advanceTimersByTime(29_999);
    expect(state.turn.phase).toBe('awaiting-answer');
    vi.advanceTimersByTime(1);
    expect(state.turn.phase).toBe('listening');
    vi.advanceTimersByTime(1_000);
    expect(silences).toEqual([false]);
  });

  it('keep waiting for an answer that came', () => {
    vi.useFakeTimers();
    const { deadlines, state } = noInput();
    state.turnPosted(Date.now());
    deadlines.awaitAnswer();
    deadlines.answered();
    vi.advanceTimersByTime(60_000);
    expect(state.turn.phase).toBe('awaiting-answer');
  });
});
