import { describe, expect, it } from 'vitest';
import { createLogger } from '@parley/observability';
import { Recognition } from './recognition.js';
import type { CallTranscriber } from './types.js';

const logger = createLogger({ service: 'voice-test', level: 'silent' });
const frame = () => new Int16Array(160);

function recognition(transcriber: CallTranscriber) {
  const call = new AbortController();
  const recognizer = new Recognition({}, { transcriber, logger }, () => ({
    language: 'en',
    signal: call.signal,
  }));
  return { recognizer, call };
}

/** A recognizer that answers whole requests in order, and notes which were cancelled. */
function counting(answers: string[]) {
  const asked: number[] = [];
  const aborted: number[] = [];
  const transcriber: CallTranscriber = {
    name: 'counting',
    transcribe: (audio, context) => {
      asked.push(audio.length);
      context.signal.addEventListener('abort', () => aborted.push(audio.length));
      return Promise.resolve(answers.shift() ?? '');
    },
  };
  return { transcriber, asked, aborted };
}

describe('a call’s recognition', () => {
  it('takes speech shorter than 250 ms as noise, by default', () => {
    const { recognizer } = recognition(counting([]).transcriber);
    expect(recognizer.isNoise(249)).toBe(true);
    expect(recognizer.isNoise(250)).toBe(false);
  });

  it('recognizes at a pause, and uses that text when the utterance ends on the same speech', async () => {
    const script = counting(['Where is my order?', 'Where is my order? It is late.']);
    const { recognizer } = recognition(script.transcriber);
    recognizer.begin([frame()]);
    recognizer.paused([frame()], 400);
    recognizer.paused([frame(), frame()], 800);
    expect(script.aborted).toEqual([160]);
    const words = await recognizer.words(new Int16Array(320), 800, recognizer.takeLive());
    expect(words).toBe('Where is my order? It is late.');
    expect(script.asked).toEqual([160, 320]);
  });

  it('recognizes the whole utterance when the caller spoke on after the last pause', async () => {
    const script = counting(['At the pause.', 'Whole.']);
    const { recognizer } = recognition(script.transcriber);
    recognizer.begin([frame()]);
    recognizer.paused([frame()], 400);
    expect(await recognizer.words(new Int16Array(480), 600, null)).toBe('Whole.');
    expect(script.aborted).toEqual([160]);
  });

  it('does not recognize a pause that is noise', () => {
    const script = counting([]);
    const { recognizer } = recognition(script.transcriber);
    recognizer.paused([frame()], 100);
    expect(script.asked).toEqual([]);
  });

  it('streams the utterance live, its first frames included, and falls back to a whole request if the stream breaks', async () => {
    let breaks = false;
    let whole = 0;
    const aborted: number[] = [];
    const transcriber: CallTranscriber = {
      name: 'live',
      streamsNow: () => true,
      transcribe: async () => {
        whole++;
        return 'Recognized whole.';
      },
      stream: async () => {
        let frames = 0;
        return {
          write: () => void frames++,
          finish: async () => {
            if (breaks) throw new Error('stream broke');
            return `Heard ${frames} frames.`;
          },
          abort: () => void aborted.push(frames),
        };
      },
    };
    const { recognizer } = recognition(transcriber);
    recognizer.begin([frame(), frame()]);
    recognizer.listen(frame());
    await Promise.resolve();
    recognizer.listen(frame());
    recognizer.paused([frame()], 400); // live: no speculation
    expect(await recognizer.words(new Int16Array(640), 400, recognizer.takeLive())).toBe(
      'Heard 4 frames.',
    );
    expect(whole).toBe(0);
    breaks = true;
    recognizer.begin([frame()]);
    expect(await recognizer.words(new Int16Array(160), 400, recognizer.takeLive())).toBe(
      'Recognized whole.',
    );
    expect(whole).toBe(1);
    recognizer.begin([frame()]);
    recognizer.end();
    await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toEqual([1]);
  });
});
