import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@parley/observability';
import { CallSession, PROMPTS, type CallAudioOut } from './call-session.js';
import type { Synthesizer, Transcriber } from './speech.js';

/**
 * The call pipeline with its edges replaced: audio frames are tones (speech)
 * or silence, the recognizer answers from a script, the synthesizer makes
 * 20 ms of audio per character, and the line plays in real time.
 */
const logger = createLogger({ service: 'voice-test', level: 'silent' });
const speech = () => Int16Array.from({ length: 160 }, (_, i) => Math.round(6000 * Math.sin(i / 3)));
const silence = () => new Int16Array(160);
/** Between two syllables: quieter, still voiced. */
const between = () =>
  Int16Array.from({ length: 160 }, (_, i) => Math.round(1200 * Math.sin(i / 3)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Line implements CallAudioOut {
  readonly log: string[] = [];
  hungUp = false;
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
    this.hungUp = true;
  }
}

function harness(
  /** What each recognition returns, in order (an Error: that recognition fails). */
  script: Array<string | Error>,
  settings: Partial<ConstructorParameters<typeof CallSession>[0]> = {},
  /** How long each recognition takes (a slow recognizer). */
  recognitionMs = 0,
) {
  const line = new Line();
  const posted: string[] = [];
  const callbacks: string[] = [];
  const spoken: string[] = [];
  const latencies: number[] = [];
  const bargeIns: string[] = [];
  const transcriber: Transcriber = {
    name: 'script',
    transcribe: async () => {
      if (recognitionMs > 0) await sleep(recognitionMs);
      const next = script.shift() ?? '';
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const synthesizer: Synthesizer = {
    name: 'beep',
    synthesize: async (text) => {
      spoken.push(text);
      return new Int16Array(text.length * 16); // 2 ms per character
    },
  };
  const session = new CallSession(
    {
      language: 'en',
      greeting: 'Hello there.',
      vad: { endSilenceMs: 200 },
      noInputMs: 2_000,
      ...settings,
    },
    {
      transcriber,
      synthesizer,
      out: line,
      conversation: {
        post: async (text) => void posted.push(text),
        requestCallback: async (phone) => void callbacks.push(phone),
      },
      observer: { turnLatency: (s) => latencies.push(s), bargeIn: (o) => bargeIns.push(o) },
      logger,
      callerNumber: '+15550123',
    },
  );
  /** Plays `ms` of frames into the session, 20 ms apart, in real time. */
  const say = async (ms: number, frame = speech) => {
    for (let t = 0; t < ms; t += 20) {
      session.audio(frame());
      await sleep(20);
    }
  };
  /** `n` syllables, 160 ms each with 60 ms quieter between: words, not a cough. */
  const sayWords = async (n: number) => {
    for (let s = 0; s < n; s++) {
      if (s > 0) await say(60, between);
      await say(160);
    }
  };
  // The first 200 ms of a call measure the line's noise.
  for (let i = 0; i < 10; i++) session.audio(silence());
  sessions.push(session);
  return { session, line, posted, callbacks, spoken, latencies, bargeIns, say, sayWords };
}
const sessions: CallSession[] = [];
afterEach(() => sessions.splice(0).forEach((s) => s.end()));

const reply = (text: string, seq = 2) =>
  ({
    kind: 'message',
    message: {
      seq,
      messageId: `m${seq}`,
      role: 'assistant',
      text,
      clientMessageId: `reply:${seq - 1}`,
      createdAt: '',
    },
  }) as const;

describe('a call session', () => {
  it('greets, posts what the caller said, and speaks the answer sentence by sentence', async () => {
    const call = harness(['I need to reset my password.']);
    call.session.start();
    await sleep(100);
    expect(call.spoken).toEqual(['Hello there.']);
    await call.say(400);
    await call.say(300, silence);
    expect(call.posted).toEqual(['I need to reset my password.']);
    call.session.update(reply('Sure. I can help with that.'));
    await sleep(150);
    expect(call.spoken.slice(1)).toEqual(['Sure.', 'I can help with that.']);
    expect(call.latencies).toHaveLength(1);
    expect(call.latencies[0]).toBeGreaterThan(0.2); // includes the end-of-utterance silence
  });

  it('recognizes at the first pause, and uses that text when the caller said nothing more', async () => {
    const call = harness([], { vad: { endSilenceMs: 700, pauseMs: 300 } });
    const asked: number[] = [];
    const aborted: number[] = [];
    (call.session as unknown as { deps: { transcriber: Transcriber } }).deps.transcriber = {
      name: 'counting',
      transcribe: (audio, context) => {
        asked.push(audio.length);
        context.signal.addEventListener('abort', () => aborted.push(audio.length));
        return Promise.resolve(
          asked.length === 1 ? 'Where is my order?' : 'Where is my order? It has been two weeks.',
        );
      },
    };
    // A pause (400 ms) inside the turn: recognition starts, then is cancelled when the caller speaks on.
    await call.say(400);
    await call.say(400, silence);
    await call.say(400);
    await call.say(800, silence);
    expect(call.posted).toEqual(['Where is my order? It has been two weeks.']);
    expect(aborted).toHaveLength(1);
    // The last pause's recognition was the one used: no third request at the end of the turn.
    expect(asked).toHaveLength(2);
  });

  it('streams the utterance to a live recognizer as the caller speaks, and falls back to a whole request if it breaks', async () => {
    const call = harness([]);
    const written: number[] = [];
    let whole = 0;
    let breaks = false;
    (call.session as unknown as { deps: { transcriber: unknown } }).deps.transcriber = {
      name: 'live',
      streamsNow: () => true,
      transcribe: async () => {
        whole++;
        return 'Recognized whole.';
      },
      stream: async () => {
        let frames = 0;
        written.push(0);
        return {
          write: () => void (written[written.length - 1] = ++frames),
          finish: async () => {
            if (breaks) throw new Error('stream broke');
            return `Heard ${frames} frames.`;
          },
          abort: () => undefined,
        };
      },
    };
    await call.say(400);
    await call.say(300, silence);
    expect(call.posted).toHaveLength(1);
    // Pre-roll, the speech and the silence up to the end: every frame went to the live stream.
    expect(call.posted[0]).toBe(`Heard ${written[0]} frames.`);
    expect(written[0]).toBeGreaterThanOrEqual(30);
    expect(whole).toBe(0);
    breaks = true;
    await call.say(400);
    await call.say(300, silence);
    expect(call.posted[1]).toBe('Recognized whole.');
    expect(whole).toBe(1);
  });

  it('stops the reply at once when the caller talks over it, and takes their words as the next turn', async () => {
    const call = harness(['Actually, cancel my order.']);
    call.session.update(reply('A'.repeat(1_000) + '. And more.'));
    await sleep(200);
    const before = call.line.log.length;
    await call.say(100);
    expect(call.line.log.slice(before)).toContain('clear');
    await call.say(400);
    await call.say(300, silence);
    expect(call.posted).toEqual(['Actually, cancel my order.']);
    expect(call.bargeIns).toEqual(['turn']);
    // The rest of the reply is dropped.
    expect(call.spoken.filter((s) => s === 'And more.')).toHaveLength(1);
    expect(call.line.log.filter((l) => l.startsWith('play'))).toHaveLength(1);
  });

  it('resumes the cut sentence after a cough or an "mhm"', async () => {
    const call = harness(['Mhm.']);
    call.session.update(reply('B'.repeat(500) + '. Second sentence.'));
    await sleep(150);
    await call.say(120); // a cough: too short to be words, recognition is skipped
    await call.say(240, silence);
    expect(call.bargeIns).toEqual(['false']);
    await sleep(50);
    expect(call.line.log.filter((l) => l.startsWith('play')).length).toBeGreaterThanOrEqual(2);
    // A longer "mhm": recognized, no words, the reply resumes again.
    await call.say(400);
    const cutAt = Date.now();
    await call.say(260, silence);
    await sleep(50);
    expect(call.bargeIns).toEqual(['false', 'false']);
    expect(call.line.log.at(-1)).toMatch(/^play/);
    expect(Date.now() - cutAt).toBeLessThan(2_000);
    expect(call.posted).toEqual([]);
  });

  it('counts a resume at the deadline once, though the words that come after it make the next turn', async () => {
    const call = harness(['Where is my parcel?'], { resumeWithinMs: 400 }, 900);
    call.session.update(reply('C'.repeat(1_000) + '. More.'));
    await sleep(150);
    await call.say(400); // words, recognized slowly
    await call.say(260, silence);
    // The deadline passes before recognition answers: the reply plays again, counted as such.
    await expect.poll(() => call.bargeIns, { timeout: 2_000 }).toEqual(['deadline']);
    await expect.poll(() => call.posted, { timeout: 3_000 }).toEqual(['Where is my parcel?']);
    expect(call.bargeIns).toEqual(['deadline']);
  });

  it('waits for a question asked over the answer, however slow its recognition: the answer is not replayed', async () => {
    const call = harness(['Where is my parcel?'], {}, 2_500);
    call.session.update(reply('E'.repeat(1_000) + '. More.'));
    await sleep(150);
    const before = call.line.log.length;
    await call.sayWords(5);
    await call.say(260, silence);
    await expect.poll(() => call.posted, { timeout: 5_000 }).toEqual(['Where is my parcel?']);
    // Cut once, and nothing of the old answer played after the cut.
    expect(call.line.log.slice(before)).toEqual(['clear']);
    expect(call.bargeIns).toEqual(['turn']);
  });

  it('asks again when the recognition of a question over the answer fails late, never replaying the answer', async () => {
    const call = harness([new Error('recognition timed out')], {}, 2_500);
    call.session.update(reply('F'.repeat(1_000) + '. More.'));
    await sleep(150);
    const before = call.line.log.length;
    await call.sayWords(5);
    await call.say(260, silence);
    await expect.poll(() => call.bargeIns, { timeout: 5_000 }).toEqual(['not_heard']);
    await expect.poll(() => call.spoken).toContain("Sorry, I didn't catch that.");
    // The only audio after the cut is the apology.
    await sleep(200);
    const after = call.line.log.slice(before);
    expect(after[0]).toBe('clear');
    expect(after.slice(1).every((l) => l.startsWith('play'))).toBe(true);
    expect(call.spoken.filter((s) => s.startsWith('FFFF'))).toHaveLength(1);
    expect(call.posted).toEqual([]);
  });

  it('counts a barge-in whose recognition failed as not heard, and asks again', async () => {
    const call = harness([new Error('recognizer down')]);
    call.session.update(reply('D'.repeat(1_000) + '. More.'));
    await sleep(150);
    await call.say(400);
    await call.say(260, silence);
    await expect.poll(() => call.bargeIns, { timeout: 2_000 }).toEqual(['not_heard']);
    await expect.poll(() => call.spoken).toContain("Sorry, I didn't catch that.");
  });

  it('after a false barge-in plays the cut sentence once more, then the rest, each once', async () => {
    const call = harness([]);
    call.session.update(reply('B'.repeat(300) + '. Second sentence.'));
    await sleep(150);
    await call.say(100); // a cough
    await call.say(240, silence);
    await sleep(1_000);
    const log = call.line.log;
    expect(log.map((l) => l.split(':')[0])).toEqual(['play', 'clear', 'play', 'play']);
    expect(log[2]).toBe(log[0]); // the cut sentence, once more
    expect(log[3]).not.toBe(log[0]);
  });

  it('asks for an agent on 0, repeats on *, and sends keyed digits on #', async () => {
    const call = harness([]);
    call.session.update(reply('Your balance is ten dollars.'));
    await sleep(50);
    call.session.digit('*');
    await sleep(50);
    expect(call.spoken.filter((s) => s === 'Your balance is ten dollars.')).toHaveLength(2);
    call.session.digit('0');
    expect(call.posted).toEqual([PROMPTS.agent]);
    for (const key of ['4', '2', '0', '#']) call.session.digit(key);
    expect(call.posted).toEqual([PROMPTS.agent, 'Keyed in: 420']);
  });

  it('offers a callback to the calling number when no agent is free, then says goodbye and hangs up', async () => {
    const call = harness([]);
    call.session.update({ kind: 'callback_offer' });
    await sleep(20);
    expect(call.callbacks).toEqual(['+15550123']);
    call.session.update({ kind: 'callback_saved', ticketId: 't1' });
    await sleep(300);
    expect(call.spoken.join(' ')).toContain('call back is booked');
    call.session.update(reply('An answer that came too late.'));
    expect(call.line.hungUp).toBe(true);
    expect(call.spoken.join(' ')).not.toContain('too late');
  });

  it('at the drain deadline tells the caller, books a callback to their number and hangs up', async () => {
    const call = harness([]);
    call.session.update(reply('A long answer that is still playing. '.repeat(20)));
    await sleep(50);
    await call.session.evict(2_000);
    expect(call.line.log).toContain('clear');
    expect(call.callbacks).toEqual(['+15550123']);
    expect(call.spoken.join(' ')).toContain('We will call you back at this number');
    expect(call.line.hungUp).toBe(true);
  });

  it('asks whether the caller is still there, then hangs up politely', async () => {
    const call = harness([], { noInputMs: 2_000, maxNoInputs: 2 });
    call.session.start();
    await sleep(2_300);
    expect(call.spoken).toContain(PROMPTS.stillThere);
    expect(call.line.hungUp).toBe(false);
    await sleep(2_300);
    expect(call.spoken.join(' ')).toContain('Goodbye');
    await sleep(200);
    expect(call.line.hungUp).toBe(true);
  });

  it('does not hang up on a caller waiting in the queue for an agent', async () => {
    const call = harness([], { noInputMs: 2_000 });
    call.session.update({
      kind: 'state',
      state: { status: 'open', handler: 'bot', handoff: 'waiting', lastSeq: 2 },
    });
    call.session.update({ kind: 'queue', position: 2, estimatedWaitSeconds: null });
    await sleep(2_500);
    expect(call.spoken).toEqual(['You are number 2 in line for an agent.']);
    expect(call.line.hungUp).toBe(false);
  });
});
