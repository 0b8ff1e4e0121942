import { DeepgramClient } from '@deepgram/sdk';
import type { SpeechContext, Synthesizer, Transcriber } from '../domain/speech.js';
import { fromRawPcm, toWav, PCM_RATE } from '../domain/pcm.js';

/** Settings of the Deepgram speech adapters. */
export interface DeepgramSpeechOptions {
  apiKey: string;
  /** Another address for Deepgram's API (a regional or self-hosted endpoint). */
  baseUrl?: string;
  model: string;
}

function client(options: DeepgramSpeechOptions): DeepgramClient {
  return new DeepgramClient({
    apiKey: options.apiKey,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    maxRetries: 0,
  });
}

/** Deepgram's pre-recorded transcription (`POST /v1/listen`). */
export class DeepgramTranscriber implements Transcriber {
  readonly name = 'deepgram';
  private readonly client: DeepgramClient;

  constructor(private readonly options: DeepgramSpeechOptions) {
    this.client = client(options);
  }

  async transcribe(audio: Int16Array, context: SpeechContext): Promise<string> {
    const keyterms = context.prompt
      ?.split(/[,;\n]/)
      .map((t) => t.trim())
      .filter(Boolean)
      .slice(0, 20);
    const response = await this.client.listen.v1.media.transcribeFile(
      Buffer.from(toWav(audio)),
      {
        model: this.options.model,
        language: context.language,
        smart_format: true,
        ...(keyterms?.length ? { keyterm: keyterms } : {}),
      },
      { abortSignal: context.signal, maxRetries: 0 },
    );
    if (!('results' in response))
      throw new Error('Deepgram accepted the audio for a callback instead of answering');
    return (response.results.channels[0]?.alternatives?.[0]?.transcript ?? '').trim();
  }
}

/** Deepgram's speech API (`POST /v1/speak`), asked for 8 kHz linear PCM directly. */
export class DeepgramSynthesizer implements Synthesizer {
  readonly name = 'deepgram';
  private readonly client: DeepgramClient;

  constructor(private readonly options: DeepgramSpeechOptions) {
    this.client = client(options);
  }

  async synthesize(text: string, context: SpeechContext): Promise<Int16Array> {
    const audio = await this.client.speak.v1.audio.generate(
      {
        text,
        model: this.options.model,
        encoding: 'linear16',
        sample_rate: PCM_RATE,
        container: 'none',
      },
      { abortSignal: context.signal, maxRetries: 0 },
    );
    return fromRawPcm(new Uint8Array(await audio.arrayBuffer()), PCM_RATE);
  }
}
