import OpenAI from 'openai';
import type { Embedder } from '@parley/knowledge';
import {
  BREAKER_PRESETS,
  RETRY_PRESETS,
  dependencyPolicy,
  type DependencyPolicy,
  type ResilienceSink,
} from '@parley/resilience';

/** Options for {@link OpenAiEmbedder}. */
export interface OpenAiEmbedderOptions {
  apiKey: string;
  /** A proxy or local server speaking the same API (tests). */
  baseURL?: string;
  /** @default 'text-embedding-3-small' */
  model?: string;
  /** @default 1536 (text-embedding-3-small) */
  dimensions?: number;
  /** Inputs per request. @default 96 */
  batchSize?: number;
  /** Per attempt (the design's knowledge retrieval timeout). @default 3000 */
  timeoutMs?: number;
  sink?: ResilienceSink;
}

/**
 * OpenAI's embeddings API, in batches, each through the design's knowledge
 * retrieval policy (docs/design/README.md#retries): 3 s per attempt, 2
 * retries 200 ms apart (linear), and a breaker.
 */
export class OpenAiEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  private readonly client: OpenAI;
  private readonly resilience: DependencyPolicy;

  constructor(private readonly options: OpenAiEmbedderOptions) {
    this.model = options.model ?? 'text-embedding-3-small';
    this.dimensions = options.dimensions ?? 1536;
    // The policy retries: the SDK's own retries would multiply them.
    this.client = new OpenAI({
      apiKey: options.apiKey,
      maxRetries: 0,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    });
    this.resilience = dependencyPolicy({
      name: 'embeddings:openai',
      timeoutMs: options.timeoutMs ?? 3_000,
      retry: RETRY_PRESETS.knowledge,
      breaker: BREAKER_PRESETS.knowledge,
      ...(options.sink ? { sink: options.sink } : {}),
    });
  }

  get breaker() {
    return this.resilience.breaker;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const size = this.options.batchSize ?? 96;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += size) {
      const batch = texts.slice(i, i + size);
      const response = await this.resilience.policy.execute(
        ({ signal: attempt }) =>
          this.client.embeddings.create(
            { model: this.model, input: batch, dimensions: this.dimensions },
            { signal: attempt },
          ),
        signal,
      );
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== batch.length)
        throw new Error(`embeddings: asked for ${batch.length} vectors, got ${vectors.length}`);
      out.push(...vectors.map(unit));
    }
    return out;
  }
}

/** OpenAI's vectors are unit length already; rounding is corrected so cosine is the dot product. */
function unit(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}
