import type { Registry } from 'prom-client';
import type { Logger } from '@parley/observability';
import type { VoiceSettings } from './config.js';
import { DeepgramSynthesizer, DeepgramTranscriber } from './adapters/deepgram-speech.js';
import { EspeakSynthesizer } from './adapters/espeak.js';
import { OpenAiSynthesizer, OpenAiTranscriber } from './adapters/openai-speech.js';
import { speechMetrics } from './adapters/speech-metrics.js';
import { SynthesizerFailover, TranscriberFailover } from './domain/failover.js';
import type { Synthesizer, Transcriber } from './domain/speech.js';
import { CachedSynthesizer } from './domain/synthesis-cache.js';

/** The speech providers a deployment configured, in order of preference. */
export interface SpeechStack {
  transcriber: TranscriberFailover;
  synthesizer: Synthesizer;
  close(): Promise<void>;
}

/**
 * Recognition: OpenAI, then Deepgram, then the offline recognizer, each
 * when configured. Synthesis: OpenAI, then Deepgram, then eSpeak NG (always
 * there: a call never goes silent for want of a voice).
 */
export function speechStack(config: VoiceSettings, metrics: Registry, logger: Logger): SpeechStack {
  const transcribers: Transcriber[] = [];
  const synthesizers: Synthesizer[] = [];
  if (config.openaiApiKey) {
    const base = {
      apiKey: config.openaiApiKey,
      ...(config.openaiBaseUrl ? { baseUrl: config.openaiBaseUrl } : {}),
    };
    transcribers.push(new OpenAiTranscriber({ ...base, model: config.openaiSttModel }));
    synthesizers.push(
      new OpenAiSynthesizer({ ...base, model: config.openaiTtsModel, voice: config.openaiVoice }),
    );
  }
  if (config.deepgramApiKey) {
    const base = {
      apiKey: config.deepgramApiKey,
      ...(config.deepgramBaseUrl ? { baseUrl: config.deepgramBaseUrl } : {}),
    };
    transcribers.push(new DeepgramTranscriber({ ...base, model: config.deepgramSttModel }));
    synthesizers.push(new DeepgramSynthesizer({ ...base, model: config.deepgramTtsModel }));
  }
  if (config.localSttUrl)
    transcribers.push(
      new OpenAiTranscriber({
        name: 'local',
        apiKey: config.localSttKey || 'local',
        baseUrl: config.localSttUrl,
        model: 'whisper-base',
      }),
    );
  const espeak = new EspeakSynthesizer({ threads: config.espeakThreads });
  synthesizers.push(espeak);
  if (transcribers.length === 0)
    throw new Error(
      'Voice needs speech recognition: set OPENAI_API_KEY, DEEPGRAM_API_KEY or VOICE_LOCAL_STT_URL',
    );
  const shared = speechMetrics(metrics);
  const log = logger.child({ component: 'speech' });
  const stack = {
    transcriber: new TranscriberFailover(transcribers, config.sttTimeoutMs, shared, log),
    synthesizer: new CachedSynthesizer(
      new SynthesizerFailover(synthesizers, config.ttsTimeoutMs, shared, log),
    ),
    close: () => espeak.close(),
  };
  logger.info(
    { stt: stack.transcriber.names, tts: synthesizers.map((s) => s.name) },
    'Speech providers, in order',
  );
  return stack;
}
