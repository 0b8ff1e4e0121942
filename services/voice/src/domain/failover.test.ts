import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@parley/observability';
import { speechMetrics } from '../adapters/speech-metrics.js';
import { SpeechUnavailableError, SynthesizerFailover, TranscriberFailover } from './failover.js';
import type { SpeechContext, Transcriber } from './speech.js';

const logger = createLogger({ service: 'voice-test', level: 'silent' });
const context = (): SpeechContext => ({
  language: 'de',
  prompt: 'Parley',
  voice: 'nova',
  signal: new AbortController().signal,
});

function recorder(name: string, behave: (c: SpeechContext) => Promise<string>) {
  const seen: SpeechContext[] = [];
  const provider: Transcriber = {
    name,
    transcribe: (_audio, c) => {
      seen.push(c);
      return behave(c);
    },
  };
  return { provider, seen };
}

describe('speech provider failover', () => {
  it('gives a failed request to the standby with the same call context', async () => {
    const registry = new Registry();
    const primary = recorder('primary', () => Promise.reject(new Error('500 from the provider')));
    const standby = recorder('standby', () => Promise.resolve('hello'));
    const stt = new TranscriberFailover(
      [primary.provider, standby.provider],
      1_000,
      speechMetrics(registry),
      logger,
    );
    expect(await stt.transcribe(new Int16Array(160), context())).toBe('hello');
    expect(standby.seen[0]).toMatchObject({ language: 'de', prompt: 'Parley', voice: 'nova' });
    const text = await registry.metrics();
    expect(text).toMatch(/voice_provider_errors_total\{kind="stt",provider="primary"\} 1/);
    expect(text).toMatch(/voice_provider_failovers_total\{kind="stt"\} 1/);
  });

  it('times a hung provider out, aborting it, and skips it while its breaker is open', async () => {
    const registry = new Registry();
    let aborted = 0;
    const hung = recorder(
      'hung',
      (c) =>
        new Promise((_, reject) =>
          c.signal.addEventListener('abort', () => {
            aborted++;
            reject(new Error('aborted'));
          }),
        ),
    );
    const standby = recorder('standby', () => Promise.resolve('ok'));
    const stt = new TranscriberFailover(
      [hung.provider, standby.provider],
      100,
      speechMetrics(registry),
      logger,
    );
    for (let i = 0; i < 3; i++)
      expect(await stt.transcribe(new Int16Array(160), context())).toBe('ok');
    expect(aborted).toBe(3);
    // Three failures in the window open the breaker: the fourth request goes straight to the standby.
    const started = Date.now();
    expect(await stt.transcribe(new Int16Array(160), context())).toBe('ok');
    expect(hung.seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('reports a coded error when every provider failed, and stops when the call is cancelled', async () => {
    const failing = recorder('only', () => Promise.reject(new Error('down')));
    const tts = new SynthesizerFailover(
      [{ name: 'only', synthesize: () => Promise.reject(new Error('down')) }],
      1_000,
      speechMetrics(new Registry()),
      logger,
    );
    await expect(tts.synthesize('hi', context())).rejects.toMatchObject({
      code: 'VOICE_ERR_SPEECH_UNAVAILABLE',
      kind: 'tts',
    });
    const cancelled = new AbortController();
    cancelled.abort(new Error('hung up'));
    const stt = new TranscriberFailover(
      [failing.provider],
      1_000,
      speechMetrics(new Registry()),
      logger,
    );
    await expect(
      stt.transcribe(new Int16Array(1), { ...context(), signal: cancelled.signal }),
    ).rejects.toThrow('hung up');
    expect(failing.seen).toHaveLength(0);
    expect(new SpeechUnavailableError('stt').message).toContain('recognition');
  });
});
