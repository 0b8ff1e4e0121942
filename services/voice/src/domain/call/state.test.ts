import { describe, expect, it } from 'vitest';
import { CallState } from './state.js';

describe('a call’s state', () => {
  it('closes an open line, then ends it once', () => {
    const state = new CallState();
    expect(state.line).toBe('open');
    state.close();
    expect(state.line).toBe('closing');
    expect(state.end()).toBe(true);
    expect(state.ended).toBe(true);
    expect(state.end()).toBe(false);
    state.close();
    expect(state.line).toBe('ended');
  });

  it('times the first reply to a turn only, and listens again once it is over', () => {
    const state = new CallState();
    state.replied();
    expect(state.turn).toEqual({ phase: 'listening' });
    state.turnPosted(1_000);
    const turn = state.turn;
    expect(turn).toMatchObject({ phase: 'awaiting-answer', endedAt: 1_000, answeredAt: 0 });
    state.replied();
    const first = turn.phase === 'awaiting-answer' ? turn.answeredAt : 0;
    expect(first).toBeGreaterThan(0);
    state.replied();
    expect(state.turn).toMatchObject({ answeredAt: first });
    state.turnOver();
    expect(state.turn).toEqual({ phase: 'listening' });
  });

  it('gives back what a barge-in cut once, and tells one barge-in from the next', () => {
    const state = new CallState();
    expect(state.uncut()).toBeNull();
    const left = [{ text: 'Second sentence.', kind: 'reply' as const }];
    state.cut(left);
    const first = state.bargeIn;
    state.cut([...left]);
    expect(state.bargeIn).not.toBe(first);
    expect(state.uncut()).toEqual(left);
    expect(state.bargeIn).toEqual({ phase: 'none' });
    expect(state.uncut()).toBeNull();
  });

  it('follows the conversation’s handoff', () => {
    const state = new CallState();
    expect(state.handoff).toBe('none');
    state.handoffIs('waiting');
    expect(state.handoff).toBe('waiting');
  });
});
