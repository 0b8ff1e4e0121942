import { createHash } from 'node:crypto';
import { redactString } from '@parley/observability';
import type { Cache } from '@parley/ports';
import type { Reply, ReplyRequest } from './provider.js';

/** Options for {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** @default 86400000 (24 h) */
  ttlMs?: number;
  /** Which model family answered ("default" until tenants choose). @default 'default' */
  modelClass?: string;
  /** Bumped when the knowledge base changes, so old answers stop matching. @default '1' */
  knowledgeVersion?: string;
}

/** Lower-case, single-spaced, without trailing punctuation: "When are you open?" ~ "when are you open". */
export function normalizePrompt(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s?!.]+$/u, '')
    .trim();
}

/**
 * Model answers in the shared cache, keyed by a content hash of tenant, model
 * class, normalized question and knowledge version, for 24 h. Only
 * context-free questions (no earlier turns) are looked up first; any
 * question is looked up when every provider failed. Nothing holding personal
 * data is stored: a question or answer the log redactor would change is skipped.
 */
export class ResponseCache {
  private readonly opts: Required<ResponseCacheOptions>;

  constructor(
    private readonly cache: Cache,
    options: ResponseCacheOptions = {},
  ) {
    this.opts = { ttlMs: 86_400_000, modelClass: 'default', knowledgeVersion: '1', ...options };
  }

  /** The cached answer to this question, or null (also when the cache is down). */
  async lookup(
    request: Pick<ReplyRequest, 'tenantId' | 'text' | 'knowledgeVersion'>,
  ): Promise<Reply | null> {
    if (hasPersonalData(request.text)) return null;
    const raw = await this.cache.get(this.key(request)).catch(() => null);
    if (!raw) return null;
    try {
      const { text } = JSON.parse(raw) as { text: unknown };
      return typeof text === 'string' ? { text } : null;
    } catch {
      return null;
    }
  }

  /** Stores a model's answer to a context-free question; returns whether it did. */
  async store(
    request: Pick<ReplyRequest, 'tenantId' | 'text' | 'history' | 'knowledgeVersion'>,
    reply: Reply,
  ): Promise<boolean> {
    if (request.history.length > 0) return false;
    if (hasPersonalData(request.text) || hasPersonalData(reply.text)) return false;
    await this.cache
      .set(this.key(request), JSON.stringify({ text: reply.text }), this.opts.ttlMs)
      .catch(() => undefined);
    return true;
  }

  private key(request: Pick<ReplyRequest, 'tenantId' | 'text' | 'knowledgeVersion'>): string {
    const hash = createHash('sha256')
      .update(
        JSON.stringify([
          request.tenantId,
          this.opts.modelClass,
          normalizePrompt(request.text),
          this.opts.knowledgeVersion,
          // The tenant's own knowledge base: a change to it makes earlier answers stale.
          request.knowledgeVersion ?? 0,
        ]),
      )
      .digest('hex');
    return `parley:ai:answer:${hash}`;
  }
}

function hasPersonalData(text: string): boolean {
  return redactString(text) !== text;
}
