import OpenAI, { toFile } from 'openai';
import type { SpeechContext, Synthesizer, Transcriber } from '../domain/speech.js';
import { fromRawPcm, toWav } from '../domain/pcm.js';

/** Settings of the OpenAI speech adapters. */
export interface OpenAiSpeechOptions {
  apiKey: string;
  /** Another server speaking OpenAI's API (a proxy, or the offline recognizer). */
  baseUrl?: string;
  /** The name the provider reports in metrics and logs. @default 'openai' */
  name?: string;
  model: string;
}

function client(options: OpenAiSpeechOptions): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
    // The failover group decides what happens after a failure: no SDK retries.
    maxRetries: 0,
  });
}

/** OpenAI's transcription API (`POST /v1/audio/transcriptions`), or any server speaking it. */
export class OpenAiTranscriber implements Transcriber {
  readonly name: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiSpeechOptions) {
    this.name = options.name ?? 'openai';
    this.client = client(options);
  }

  async transcribe(audio: Int16Array, context: SpeechContext): Promise<string> {
    const file = await toFile(toWav(audio), 'utterance.wav', { type: 'audio/wav' });
    const result = await this.client.audio.transcriptions.create(
      {
        file,
        model: this.options.model,
        language: context.language,
        ...(context.prompt ? { prompt: context.prompt } : {}),
      },
      { signal: context.signal },
    );
    return result.text.trim();
  }
}

/** OpenAI voices; any other name maps to the default. */
const OPENAI_VOICES = new Set([
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'nova',
  'onyx',
  'sage',
  'shimmer',
  'verse',
]);

/** OpenAI's speech API (`POST /v1/audio/speech`), raw PCM at 24 kHz brought down to 8 kHz. */
export class OpenAiSynthesizer implements Synthesizer {
  readonly name: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiSpeechOptions & { voice: string }) {
    this.name = options.name ?? 'openai';
    this.client = client(options);
  }

  async synthesize(text: string, context: SpeechContext): Promise<Int16Array> {
    const voice =
      context.voice && OPENAI_VOICES.has(context.voice) ? context.voice : this.options.voice;
    const response = await this.client.audio.speech.create(
      { model: this.options.model, voice, input: text, response_format: 'pcm' },
      { signal: context.signal },
    );
    return fromRawPcm(new Uint8Array(await response.arrayBuffer()), 24_000);
  }
}
