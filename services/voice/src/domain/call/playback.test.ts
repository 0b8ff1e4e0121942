import { describe, expect, it } from 'vitest';
import { createLogger } from '@parley/observability';
import { Playback } from './playback.js';
import { CallState } from './state.js';
import type { CallAudioOut } from './types.js';

const logger = createLogger({ service: 'voice-test', level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A line that plays in real time and logs what it was asked. */
class Line implements CallAudioOut {
  readonly log: string[] = [];
  private current: { resolve(played: boolean): void; timer: NodeJS.Timeout } | null = null;
  play(pcm: Int16Array): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.current = null;
        resolve(true);
      }, pcm.length / 8);
      this.current = { resolve, timer };
      this.log.push(`play:${pcm.length / 160}`);
    });
  }
  clear(): void {
    this.log.push('clear');
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.resolve(false);
      this.current = null;
    }
  }
  hangUp(): void {
    this.log.push('hang-up');
  }
}

function playback() {
  const state = new CallState();
  const line = new Line();
  const spoken: string[] = [];
  const events: string[] = [];
  const caller = { speaking: false };
  const player = new Playback(
    state,
    { resumeWithinMs: 300 },
    {
      synthesizer: {
        name: 'beep',
        synthesize: async (text) => {
          spoken.push(text);
          return new Int16Array(text.length * 16); // 2 ms per character
        },
      },
      out: line,
      logger,
    },
    {
      context: () => ({ language: 'en', signal: new AbortController().signal }),
      callerSpeaking: () => caller.speaking,
      queued: () => events.push('queued'),
      starting: () => events.push('starting'),
      drained: () => events.push('drained'),
      resumedAtDeadline: () => events.push('resumed at deadline'),
    },
  );
  return { state, line, spoken, events, caller, player };
}

describe('a call’s playback', () => {
  it('plays the sentences in order, then tells that all has played', async () => {
    const call = playback();
    call.player.speak('One. Two.', 'reply');
    expect(call.player.busy).toBe(true);
    await sleep(100);
    expect(call.spoken).toEqual(['One.', 'Two.']);
    expect(call.line.log).toEqual(['play:0.4', 'play:0.4']);
    expect(call.events).toEqual(['queued', 'queued', 'starting', 'starting', 'drained']);
    expect(call.player.busy).toBe(false);
  });

  it('stops at once on barge-in, and plays again from the cut sentence on resume', async () => {
    const call = playback();
    call.player.speak('B'.repeat(299) + '. Second sentence.', 'reply');
    await sleep(50);
    call.player.bargeIn();
    expect(call.line.log).toEqual(['play:30', 'clear']);
    const bargeIn = call.state.bargeIn;
    expect(bargeIn.phase === 'cut' && bargeIn.left.map((u) => u.text)).toEqual([
      'B'.repeat(299) + '.',
      'Second sentence.',
    ]);
    await sleep(50);
    expect(call.events).not.toContain('drained');
    call.player.resume();
    await sleep(800);
    expect(call.line.log).toEqual(['play:30', 'clear', 'play:30', 'play:1.6']);
    expect(call.state.bargeIn.phase).toBe('none');
    expect(call.events.at(-1)).toBe('drained');
  });

  it('resumes by the deadline, unless the caller is speaking again', async () => {
    const call = playback();
    call.player.speak('B'.repeat(299) + '.', 'reply');
    await sleep(20);
    call.player.bargeIn();
    call.caller.speaking = true;
    call.player.resumeBy(Date.now());
    await sleep(400);
    expect(call.line.log).toEqual(['play:30', 'clear']);
    expect(call.events).not.toContain('resumed at deadline');
    call.caller.speaking = false;
    call.player.resumeBy(Date.now() - 200);
    await sleep(150);
    expect(call.line.log).toEqual(['play:30', 'clear', 'play:30']);
    // Told once, when it played again (the session counts it as a barge-in resumed at the deadline).
    expect(call.events.filter((e) => e === 'resumed at deadline')).toHaveLength(1);
  });

  it('never cuts the goodbye, and says nothing after it but another last sentence', async () => {
    const call = playback();
    call.player.speak('Goodbye.', 'final');
    expect(call.state.line).toBe('closing');
    call.player.bargeIn();
    call.player.stop();
    call.player.speak('Too late.', 'reply');
    await sleep(100);
    expect(call.line.log).toEqual(['play:0.8']);
    expect(call.spoken).toEqual(['Goodbye.']);
    expect(call.state.bargeIn.phase).toBe('none');
    expect(call.events.at(-1)).toBe('drained');
  });

  it('repeats the last reply, not the prompts after it', async () => {
    const call = playback();
    call.player.speak('Your balance is ten dollars.', 'reply');
    call.player.speak('Anything else?', 'prompt');
    await sleep(200);
    call.player.repeat();
    await sleep(200);
    expect(call.spoken).toEqual([
      'Your balance is ten dollars.',
      'Anything else?',
      'Your balance is ten dollars.',
    ]);
  });

  it('plays nothing once the call ended', async () => {
    const call = playback();
    call.player.speak('B'.repeat(299) + '.', 'reply');
    await sleep(20);
    call.state.end();
    call.player.end();
    call.player.speak('More.', 'reply');
    await sleep(100);
    expect(call.line.log).toEqual(['play:30']);
    expect(call.events).not.toContain('drained');
  });
});
