import { LRUCache } from 'lru-cache';
import type { SpeechContext, Synthesizer } from './speech.js';

/**
 * Keeps the audio of short sentences said again and again (the greeting,
 * "are you still there?", the fallback answers), so that a hundred calls
 * starting together do not synthesize the same greeting a hundred times.
 * Concurrent requests for the same sentence share one synthesis.
 */
export class CachedSynthesizer implements Synthesizer {
  readonly name: string;
  private readonly cache: LRUCache<string, Int16Array>;
  private readonly inFlight = new Map<string, Promise<Int16Array>>();

  constructor(
    private readonly inner: Synthesizer,
    options: { maxEntries?: number; maxTextLength?: number } = {},
  ) {
    this.name = inner.name;
    this.maxTextLength = options.maxTextLength ?? 160;
    this.cache = new LRUCache({ max: options.maxEntries ?? 256 });
  }

  private readonly maxTextLength: number;

  async synthesize(text: string, context: SpeechContext): Promise<Int16Array> {
    if (text.length > this.maxTextLength) return this.inner.synthesize(text, context);
    const key = `${context.language}\n${context.voice ?? ''}\n${text}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      // Shared by every caller: one call hanging up must not cancel it for the others.
      pending = this.inner
        .synthesize(text, { ...context, signal: AbortSignal.timeout(30_000) })
        .then((audio) => {
          this.cache.set(key, audio);
          return audio;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return abortable(pending, context.signal);
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
