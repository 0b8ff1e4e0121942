import {
  BREAKER_PRESETS,
  RETRY_PRESETS,
  dependencyPolicy,
  type DependencyPolicy,
  type ResilienceSink,
} from '@parley/resilience';
import type { KnowledgePassage, KnowledgeSearch } from '../domain/knowledge.js';

/**
 * The embedding service's search, over HTTP, under the design's knowledge
 * retrieval policy (docs/design/README.md#retries): 3 s per attempt, 2
 * retries 200 ms apart, and a breaker (whose open state counts as knowledge
 * down: degradation L2).
 */
export class HttpKnowledgeSearch implements KnowledgeSearch {
  private readonly resilience: DependencyPolicy;

  constructor(
    private readonly options: {
      baseUrl: string;
      token: string;
      timeoutMs?: number;
      limit?: number;
      sink?: ResilienceSink;
    },
  ) {
    this.resilience = dependencyPolicy({
      name: 'knowledge',
      timeoutMs: options.timeoutMs ?? 3_000,
      retry: RETRY_PRESETS.knowledge,
      breaker: BREAKER_PRESETS.knowledge,
      ...(options.sink ? { sink: options.sink } : {}),
    });
  }

  get breaker() {
    return this.resilience.breaker;
  }

  async search(tenantId: string, query: string, signal?: AbortSignal) {
    return this.resilience.policy.execute(async ({ signal: attempt }) => {
      const res = await fetch(
        `${this.options.baseUrl}/v1/knowledge/${encodeURIComponent(tenantId)}/search`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.options.token}`,
          },
          body: JSON.stringify({ query: query.slice(0, 2_000), limit: this.options.limit ?? 5 }),
          signal: attempt,
        },
      );
      if (!res.ok) throw new Error(`knowledge search answered ${res.status}`);
      return (await res.json()) as { passages: KnowledgePassage[]; version: number };
    }, signal);
  }
}
