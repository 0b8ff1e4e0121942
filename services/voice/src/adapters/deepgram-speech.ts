import { DeepgramClient } from '@deepgram/sdk';
import type {
  SpeechContext,
  StreamingTranscriber,
  Synthesizer,
  TranscriptionStream,
} from '../domain/speech.js';
import { fromRawPcm, toWav, PCM_RATE } from '../domain/pcm.js';

/** Settings of the Deepgram speech adapters. */
export interface DeepgramSpeechOptions {
  apiKey: string;
  /** Another address for Deepgram's API (a regional or self-hosted endpoint). */
  baseUrl?: string;
  model: string;
}

function client(options: DeepgramSpeechOptions): DeepgramClient {
  const base = options.baseUrl?.replace(/\/$/, '');
  const live = base?.replace(/^http/, 'ws');
  return new DeepgramClient({
    apiKey: options.apiKey,
    // REST and live WebSocket addresses of the same (regional or self-hosted) endpoint.
    ...(base && live
      ? { environment: { base, production: live, agent: live, agentRest: base } }
      : {}),
    maxRetries: 0,
  });
}

/** The call's recognition hints as Deepgram key terms. */
const keyterms = (prompt: string | undefined): string[] =>
  (prompt ?? '')
    .split(/[,;\n]/)
    .map((t) => t.trim())
    .filter(Boolean)
    .slice(0, 20);

/** How long a live stream may take to deliver its final words after the utterance ended. */
const FINALIZE_TIMEOUT_MS = 3_000;

/**
 * Deepgram's recognition: live over its WebSocket (`/v1/listen`, linear16 at
 * 8 kHz, `Finalize` when the utterance ends), or pre-recorded (`POST
 * /v1/listen`) for a whole utterance.
 */
export class DeepgramTranscriber implements StreamingTranscriber {
  readonly name = 'deepgram';
  private readonly client: DeepgramClient;

  constructor(private readonly options: DeepgramSpeechOptions) {
    this.client = client(options);
  }

  async transcribe(audio: Int16Array, context: SpeechContext): Promise<string> {
    const terms = keyterms(context.prompt);
    const response = await this.client.listen.v1.media.transcribeFile(
      Buffer.from(toWav(audio)),
      {
        model: this.options.model,
        language: context.language,
        smart_format: true,
        ...(terms.length ? { keyterm: terms } : {}),
      },
      { abortSignal: context.signal, maxRetries: 0 },
    );
    if (!('results' in response))
      throw new Error('Deepgram accepted the audio for a callback instead of answering');
    return (response.results.channels[0]?.alternatives?.[0]?.transcript ?? '').trim();
  }

  async stream(context: SpeechContext): Promise<TranscriptionStream> {
    const terms = keyterms(context.prompt);
    const socket = await this.client.listen.v1.connect({
      model: this.options.model,
      encoding: 'linear16',
      sample_rate: PCM_RATE,
      channels: 1,
      language: context.language,
      punctuate: 'true',
      smart_format: 'true',
      interim_results: 'false',
      ...(terms.length ? { keyterm: terms } : {}),
      Authorization: `Token ${this.options.apiKey}`,
      reconnectAttempts: 0,
      connectionTimeoutInSeconds: 5,
      abortSignal: context.signal,
    });
    const finals: string[] = [];
    let failure: Error | null = null;
    let flushed = false;
    let finalized: (() => void) | null = null;
    socket.on('message', (message) => {
      if (message.type !== 'Results' || !message.is_final) return;
      const text = message.channel.alternatives[0]?.transcript?.trim();
      if (text) finals.push(text);
      if (message.from_finalize) {
        flushed = true;
        finalized?.();
      }
    });
    socket.on('error', (err) => (failure ??= err));
    socket.on('close', () => {
      // Closing after the flush (our own close) is the normal end, not a failure.
      if (!flushed) failure ??= new Error('Deepgram closed the live stream');
      finalized?.();
    });
    socket.connect();
    // Frames written before the socket opens wait for it.
    const pending: Int16Array[] = [];
    let opened = false;
    const open = socket.waitForOpen().then(() => {
      opened = true;
      for (const frame of pending.splice(0)) socket.sendMedia(frame);
    });
    open.catch(() => undefined);
    return {
      write(frame) {
        if (!opened) pending.push(frame);
        else if (socket.readyState === 1) socket.sendMedia(frame); // a closed stream drops frames
      },
      async finish() {
        await open;
        const done = new Promise<void>((resolve) => (finalized = resolve));
        socket.sendFinalize({ type: 'Finalize' });
        const timer = setTimeout(() => finalized?.(), FINALIZE_TIMEOUT_MS);
        await done;
        clearTimeout(timer);
        if (!flushed && failure) throw failure;
        if (socket.readyState === 1) socket.sendCloseStream({ type: 'CloseStream' });
        socket.close();
        return finals.join(' ');
      },
      abort() {
        socket.close();
      },
    };
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
