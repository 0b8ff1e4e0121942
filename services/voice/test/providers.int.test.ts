import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createLogger } from '@parley/observability';
import { DeepgramSynthesizer, DeepgramTranscriber } from '../src/adapters/deepgram-speech.js';
import { OpenAiSynthesizer, OpenAiTranscriber } from '../src/adapters/openai-speech.js';
import { speechMetrics } from '../src/adapters/speech-metrics.js';
import { SynthesizerFailover, TranscriberFailover } from '../src/domain/failover.js';
import type { SpeechContext } from '../src/domain/speech.js';

/**
 * The speech adapters on the wire: the official OpenAI and Deepgram SDKs
 * pointed at local servers that speak those APIs, checking what each request
 * carries and reading real answers; then failover across them.
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
const seen: Seen[] = [];
let failing = false;
let liveFails = false;
let server: Server;
let base = '';

const tone = (samples: number) => {
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(Math.round(4000 * Math.sin(i / 5)), i * 2);
  return pcm;
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const path = new URL(req.url!, 'http://x').pathname;
      if (failing)
        return void res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":{"message":"boom"}}');
      if (path === '/openai/v1/audio/transcriptions')
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"text":" Hello from OpenAI. "}');
      if (path === '/openai/v1/audio/speech')
        return void res.writeHead(200, { 'content-type': 'audio/pcm' }).end(tone(24_000)); // 1 s at 24 kHz
      if (path === '/deepgram/v1/listen')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            metadata: { request_id: 'r1' },
            results: {
              channels: [
                { alternatives: [{ transcript: 'hello from deepgram', confidence: 0.93 }] },
              ],
            },
          }),
        );
      if (path === '/deepgram/v1/speak')
        return void res.writeHead(200, { 'content-type': 'audio/l16' }).end(tone(4_000)); // 0.5 s at 8 kHz
      res.writeHead(404).end();
    });
  });
  // Deepgram's live recognition: binary linear16 in, `Results` out; `Finalize` flushes.
  const live = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/deepgram/v1/listen')) {
      socket.destroy();
      return;
    }
    seen.push({ method: 'WS', url: req.url, headers: req.headers, body: Buffer.alloc(0) });
    live.handleUpgrade(req, socket, head, (ws) => {
      let bytes = 0;
      ws.on('message', (data, binary) => {
        if (binary) return void (bytes += (data as Buffer).length);
        const message = JSON.parse(data.toString()) as { type: string };
        if (liveFails) {
          ws.terminate();
          return;
        }
        if (message.type === 'Finalize')
          ws.send(
            JSON.stringify({
              type: 'Results',
              channel_index: [0, 1],
              duration: bytes / 16_000,
              start: 0,
              is_final: true,
              speech_final: true,
              from_finalize: true,
              channel: {
                alternatives: [
                  {
                    transcript: `heard ${(bytes / 16_000).toFixed(1)} seconds`,
                    confidence: 0.9,
                    words: [],
                  },
                ],
              },
              metadata: {
                request_id: 'r',
                model_info: { name: 'nova-3', version: '1', arch: 'x' },
                model_uuid: 'u',
              },
            }),
          );
        if (message.type === 'CloseStream') ws.close(1000);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server?.close());

const context = (): SpeechContext => ({
  language: 'de',
  prompt: 'Parley, PowerBlend',
  voice: 'nova',
  signal: new AbortController().signal,
});
const speech = Int16Array.from({ length: 8_000 }, (_, i) => Math.round(3000 * Math.sin(i / 4)));
const last = () => seen.at(-1)!;
const openai = { apiKey: 'sk-test-openai', baseUrl: '' };
const deepgram = { apiKey: 'dg-test-key-0001', baseUrl: '' };

describe('OpenAI speech', () => {
  it('uploads the utterance as an 8 kHz WAV with the model, language and hints, and reads the text', async () => {
    const stt = new OpenAiTranscriber({
      ...openai,
      baseUrl: `${base}/openai/v1`,
      model: 'gpt-4o-mini-transcribe',
    });
    expect(await stt.transcribe(speech, context())).toBe('Hello from OpenAI.');
    const request = last();
    expect(request.headers.authorization).toBe('Bearer sk-test-openai');
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = request.body.toString('latin1');
    expect(form).toMatch(/name="model"\r\n\r\ngpt-4o-mini-transcribe/);
    expect(form).toMatch(/name="language"\r\n\r\nde/);
    expect(form).toMatch(/name="prompt"\r\n\r\nParley, PowerBlend/);
    expect(form).toMatch(/filename="utterance.wav"/);
    const wav = request.body.subarray(request.body.indexOf('RIFF'));
    expect(wav.readUInt32LE(24)).toBe(8_000); // sample rate
    expect(wav.readUInt16LE(34)).toBe(16); // bits per sample
  });

  it('asks for raw PCM in the call voice and brings it down to the telephone band', async () => {
    const tts = new OpenAiSynthesizer({
      ...openai,
      baseUrl: `${base}/openai/v1`,
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
    });
    const pcm = await tts.synthesize('Hello there.', context());
    expect(JSON.parse(last().body.toString())).toEqual({
      model: 'gpt-4o-mini-tts',
      voice: 'nova',
      input: 'Hello there.',
      response_format: 'pcm',
    });
    expect(pcm.length).toBeGreaterThan(7_900); // 1 s at 8 kHz
    expect(pcm.length).toBeLessThan(8_100);
    await tts.synthesize('Hi.', { ...context(), voice: 'not-an-openai-voice' });
    expect(JSON.parse(last().body.toString()).voice).toBe('alloy');
  });
});

describe('Deepgram speech', () => {
  it('sends the WAV to /v1/listen with the model, language and key terms, authenticated with the key', async () => {
    const stt = new DeepgramTranscriber({
      ...deepgram,
      baseUrl: `${base}/deepgram`,
      model: 'nova-3',
    });
    expect(await stt.transcribe(speech, context())).toBe('hello from deepgram');
    const request = last();
    const url = new URL(request.url, 'http://x');
    expect(url.pathname).toBe('/deepgram/v1/listen');
    expect(url.searchParams.get('model')).toBe('nova-3');
    expect(url.searchParams.get('language')).toBe('de');
    expect(url.searchParams.getAll('keyterm')).toEqual(['Parley', 'PowerBlend']);
    expect(request.headers.authorization).toBe('Token dg-test-key-0001');
    expect(request.body.subarray(0, 4).toString()).toBe('RIFF');
  });

  it('recognizes live over the WebSocket: 8 kHz linear16 frames in, the final words after Finalize', async () => {
    const stt = new DeepgramTranscriber({
      ...deepgram,
      baseUrl: `${base}/deepgram`,
      model: 'nova-3',
    });
    const stream = await stt.stream(context());
    for (let i = 0; i < 50; i++) stream.write(speech.subarray(i * 160, (i + 1) * 160)); // 1 s
    expect(await stream.finish()).toBe('heard 1.0 seconds');
    const request = seen.filter((r) => r.method === 'WS').at(-1)!;
    const url = new URL(request.url, 'http://x');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: '8000',
      language: 'de',
    });
    expect(url.searchParams.getAll('keyterm')).toEqual(['Parley', 'PowerBlend']);
    expect(request.headers.authorization).toBe('Token dg-test-key-0001');
  });

  it('reports a live stream that broke, so that the utterance can be recognized whole', async () => {
    const stt = new DeepgramTranscriber({
      ...deepgram,
      baseUrl: `${base}/deepgram`,
      model: 'nova-3',
    });
    liveFails = true;
    try {
      const stream = await stt.stream(context());
      stream.write(speech.subarray(0, 160));
      await expect(stream.finish()).rejects.toThrow();
    } finally {
      liveFails = false;
    }
  });

  it('asks /v1/speak for 8 kHz linear PCM without a container', async () => {
    const tts = new DeepgramSynthesizer({
      ...deepgram,
      baseUrl: `${base}/deepgram`,
      model: 'aura-2-thalia-en',
    });
    const pcm = await tts.synthesize('Hello there.', context());
    const url = new URL(last().url, 'http://x');
    expect(url.pathname).toBe('/deepgram/v1/speak');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      model: 'aura-2-thalia-en',
      encoding: 'linear16',
      sample_rate: '8000',
      container: 'none',
    });
    expect(JSON.parse(last().body.toString())).toEqual({ text: 'Hello there.' });
    expect(pcm.length).toBe(4_000);
  });
});

describe('failover between real providers', () => {
  it('moves recognition and synthesis from a failing OpenAI to Deepgram with the same context', async () => {
    const logger = createLogger({ service: 'voice-test', level: 'silent' });
    const metrics = speechMetrics(new Registry());
    const stt = new TranscriberFailover(
      [
        new OpenAiTranscriber({ ...openai, baseUrl: `${base}/failing/v1`, model: 'm' }),
        new DeepgramTranscriber({ ...deepgram, baseUrl: `${base}/deepgram`, model: 'nova-3' }),
      ],
      2_000,
      metrics,
      logger,
    );
    const tts = new SynthesizerFailover(
      [
        new OpenAiSynthesizer({
          ...openai,
          baseUrl: `${base}/failing/v1`,
          model: 'm',
          voice: 'alloy',
        }),
        new DeepgramSynthesizer({
          ...deepgram,
          baseUrl: `${base}/deepgram`,
          model: 'aura-2-thalia-en',
        }),
      ],
      2_000,
      metrics,
      logger,
    );
    const before = seen.length;
    expect(await stt.transcribe(speech, context())).toBe('hello from deepgram');
    expect((await tts.synthesize('Hi.', context())).length).toBe(4_000);
    const paths = seen.slice(before).map((s) => new URL(s.url, 'http://x').pathname);
    expect(paths).toEqual([
      '/failing/v1/audio/transcriptions',
      '/deepgram/v1/listen',
      '/failing/v1/audio/speech',
      '/deepgram/v1/speak',
    ]);
    expect(new URL(seen.at(-3)!.url, 'http://x').searchParams.get('language')).toBe('de');
    // With both failing, the error is coded.
    failing = true;
    await expect(stt.transcribe(speech, context())).rejects.toMatchObject({
      code: 'VOICE_ERR_SPEECH_UNAVAILABLE',
    });
    failing = false;
  });
});
