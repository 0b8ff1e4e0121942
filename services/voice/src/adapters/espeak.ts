import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { SpeechContext, Synthesizer } from '../domain/speech.js';
import { fromWav } from '../domain/pcm.js';

/** eSpeak NG voices by call language (the ones a phone assistant is likely to need). */
const VOICES: Record<string, string> = {
  en: 'en-us',
  de: 'de',
  fr: 'fr',
  es: 'es',
  it: 'it',
  nl: 'nl',
  pt: 'pt',
  pl: 'pl',
  sv: 'sv',
};

/** The worker's compiled file (tests that import the sources use the build's). */
function workerFile(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  return new URL(
    fromSources ? '../../dist/adapters/espeak-worker.js' : './espeak-worker.js',
    import.meta.url,
  ).href;
}

/**
 * The offline synthesizer: eSpeak NG compiled to WebAssembly (the npm
 * package `espeak-ng`), run in worker threads. No key, no download, no
 * native binary: it works in the distroless image and in the embedded mode.
 * It sounds robotic; it is the last resort and the tests' voice.
 */
export class EspeakSynthesizer implements Synthesizer {
  readonly name = 'espeak';
  private readonly pool: Piscina;

  constructor(options: { threads?: number; wordsPerMinute?: number } = {}) {
    this.wordsPerMinute = options.wordsPerMinute ?? 165;
    this.pool = new Piscina({
      filename: workerFile(),
      maxThreads: options.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1)),
      idleTimeout: 60_000,
    });
  }

  private readonly wordsPerMinute: number;

  async synthesize(text: string, context: SpeechContext): Promise<Int16Array> {
    return fromWav(await this.wav(text, context));
  }

  /** eSpeak's own output: a 22.05 kHz WAV file (wide band, for comparisons). */
  async wav(
    text: string,
    context: Pick<SpeechContext, 'language' | 'signal'>,
  ): Promise<Uint8Array> {
    const voice = VOICES[context.language] ?? 'en-us';
    return (await this.pool.run(
      { text, voice, wordsPerMinute: this.wordsPerMinute },
      { signal: context.signal },
    )) as Uint8Array;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
