import { describe, expect, it } from 'vitest';
import { ActiveSessions } from './active-sessions.js';

describe('ActiveSessions', () => {
  it('counts each conversation once while it is active, and forgets it after the window', () => {
    let now = 0;
    const active = new ActiveSessions(1_000, 100, () => now);
    active.touch('t', 'a');
    active.touch('t', 'b');
    active.touch('t', 'a');
    active.touch('u', 'a'); // another tenant's conversation with the same id
    expect(active.count()).toBe(3);
    now = 900;
    active.touch('t', 'b');
    now = 1_500;
    expect(active.count()).toBe(1); // only b was seen within the last second
    now = 3_000;
    expect(active.count()).toBe(0);
  });

  it('keeps at most maxEntries conversations, dropping the least recent', () => {
    const active = new ActiveSessions(60_000, 2, () => 0);
    for (const id of ['a', 'b', 'c']) active.touch('t', id);
    expect(active.count()).toBe(2);
  });
});
