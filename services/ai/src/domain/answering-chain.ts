import type { Reply, ReplyProvider, ReplyRequest } from './provider.js';
import type { ResponseCache } from './response-cache.js';

/**
 * How the AI service answers, so that the end user always gets an answer:
 * a context-free question already answered comes from the response cache;
 * otherwise the model router answers (and its answer is cached); when every
 * provider failed, a cached answer to the same question, else the offline
 * FAQ (which apologises when nothing matches).
 */
export class AnsweringChain implements ReplyProvider {
  readonly name = 'chain';

  constructor(
    private readonly parts: {
      router?: ReplyProvider;
      cache: ResponseCache;
      offline: ReplyProvider;
    },
  ) {}

  async reply(request: ReplyRequest): Promise<Reply> {
    const { router, cache, offline } = this.parts;
    if (!router) return { ...(await offline.reply(request)), provider: offline.name };
    if (request.history.length === 0) {
      const hit = await cache.lookup(request);
      if (hit) return { ...hit, provider: 'cache' };
    }
    try {
      const answer = await router.reply(request);
      await cache.store(request, answer);
      return answer;
    } catch (err) {
      if (request.signal.aborted) throw err;
      const cached = await cache.lookup(request);
      if (cached) return { ...cached, provider: 'cache' };
      return { ...(await offline.reply(request)), provider: offline.name };
    }
  }
}
