import OpenAI, { APIError, toFile, toStreamingFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EspeakSynthesizer } from '../src/adapters/espeak.js';
import { PCM_RATE, toWav } from '../src/domain/pcm.js';

/**
 * The offline recognizer (`services/voice/local-stt/server.py`, Whisper base,
 * started by `scripts/infra up`) through the official `openai` SDK, as the
 * voice service's failover uses it: eSpeak NG's telephone-band speech in,
 * text out, and OpenAI's wire protocol for the answers and the errors.
 */
const url = process.env.PARLEY_LOCAL_STT_URL;
let client: OpenAI;
const espeak = new EspeakSynthesizer({ threads: 1 });

beforeAll(() => {
  if (!url)
    throw new Error('PARLEY_LOCAL_STT_URL is not set: run through scripts/test (scripts/infra up)');
  client = new OpenAI({ apiKey: 'local', baseURL: url, maxRetries: 0 });
});
afterAll(() => espeak.close());

const say = (text: string) =>
  espeak.synthesize(text, { language: 'en', signal: new AbortController().signal });
const wavFile = (samples: Int16Array) =>
  toFile(toWav(samples), 'utterance.wav', { type: 'audio/wav' });

describe('the offline speech-to-text server', () => {
  it('transcribes telephone-band speech synthesized by eSpeak NG', async () => {
    const agent = await client.audio.transcriptions.create({
      file: await wavFile(await say('Can I speak to an agent?')),
      model: 'whisper-1',
      language: 'en',
    });
    expect(agent.text).toMatch(/speak to an agent/i);

    const warranty = await client.audio.transcriptions.create({
      file: await wavFile(await say('How long is the warranty on the blender?')),
      model: 'whisper-1',
      language: 'en',
    });
    expect(warranty.text).toMatch(/warranty/i);
    expect(warranty.text).toMatch(/blender/i);
  }, 30_000);

  it('returns verbose_json with the language and duration', async () => {
    const speech = await say('Can I speak to an agent?');
    const result = await client.audio.transcriptions.create({
      file: await wavFile(speech),
      model: 'whisper-1',
      language: 'en',
      response_format: 'verbose_json',
    });
    expect(result.language).toBe('en');
    expect(Math.abs(result.duration - speech.length / PCM_RATE)).toBeLessThan(0.5);
    expect(result.text).toMatch(/agent/i);
  }, 30_000);

  it('accepts a file the SDK streams (a chunked request body)', async () => {
    const wav = toWav(await say('Can I speak to an agent?'));
    const result = await client.audio.transcriptions.create({
      file: toStreamingFile(
        (async function* () {
          yield wav;
        })(),
        'utterance.wav',
        { type: 'audio/wav' },
      ),
      model: 'whisper-1',
      language: 'en',
    });
    expect(result.text).toMatch(/agent/i);
  }, 30_000);

  it('refuses audio that is not a WAV file with an OpenAI-style 400', async () => {
    const mp3 = new Uint8Array(2_000);
    mp3.set([0x49, 0x44, 0x33, 0x03]); // an ID3 tag: an MP3 file's start
    const error: unknown = await client.audio.transcriptions
      .create({
        file: await toFile(mp3, 'utterance.mp3', { type: 'audio/mpeg' }),
        model: 'whisper-1',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(400);
    expect((error as APIError).param).toBe('file');
    expect((error as APIError).type).toBe('invalid_request_error');
  });

  it('returns no text for silence', async () => {
    const result = await client.audio.transcriptions.create({
      file: await wavFile(new Int16Array(2 * PCM_RATE)),
      model: 'whisper-1',
    });
    expect(result.text).toBe('');
  });

  it('answers its health check', async () => {
    const res = await fetch(new URL('/healthz', url!));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', model: 'whisper-base' });
  });
});
