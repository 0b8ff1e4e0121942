import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { cacheKey, conversationStateSchema, type ConversationState } from '@parley/contracts';
import type { Cache, WritePosition } from '@parley/ports';

/** A conversation's state, its owner, and the write position that produced it. */
export interface SessionState extends ConversationState {
  visitorId: string;
  channel: 'web' | 'voice';
  /** Reads given `{ after: position }` see every message up to `lastSeq`. */
  position: WritePosition;
  /** The conversation's home region when it was cached (null: not known). */
  homeRegion?: string | null;
}

/** Options for {@link SessionCache}. */
export interface SessionCacheOptions {
  /** In-process level; 0 turns it off (for readers in other processes than the writer). @default 60000 */
  l1TtlMs?: number;
  /** Conversations held in process at most. @default 10000 */
  l1MaxEntries?: number;
  /** Shared level (Redis). @default 1800000 (30 min) */
  l2TtlMs?: number;
}

/**
 * Hot conversation state in two levels, written through: an in-process LRU
 * (about 60 s) over the shared cache (about 30 min). The database stays the
 * truth; a miss on both levels means the caller reads it from there.
 */
export class SessionCache {
  private readonly l1: LRUCache<string, SessionState> | undefined;
  private readonly l2TtlMs: number;

  constructor(
    private readonly cache: Cache,
    options: SessionCacheOptions = {},
  ) {
    const l1TtlMs = options.l1TtlMs ?? 60_000;
    this.l1 =
      l1TtlMs > 0 ? new LRUCache({ max: options.l1MaxEntries ?? 10_000, ttl: l1TtlMs }) : undefined;
    this.l2TtlMs = options.l2TtlMs ?? 1_800_000;
  }

  /** The cached state, from L1, else L2 (refilling L1), else null. A broken L2 is a miss. */
  async get(tenantId: string, conversationId: string): Promise<SessionState | null> {
    const key = this.key(tenantId, conversationId);
    const hot = this.l1?.get(key);
    if (hot) return hot;
    const raw = await this.cache.get(key).catch(() => null);
    if (!raw) return null;
    const parsed = sessionStateSchema.safeParse(safeJson(raw));
    if (!parsed.success) return null;
    const state = parsed.data;
    this.l1?.set(key, state);
    return state;
  }

  /**
   * Writes both levels. A state older than the cached one (lower `lastSeq`)
   * is ignored, so a late writer cannot move it backwards.
   */
  async put(tenantId: string, conversationId: string, state: SessionState): Promise<void> {
    const key = this.key(tenantId, conversationId);
    const current = this.l1?.get(key);
    if (current && current.lastSeq > state.lastSeq) return;
    this.l1?.set(key, state);
    await this.cache.set(key, JSON.stringify(state), this.l2TtlMs);
  }

  private key(tenantId: string, conversationId: string): string {
    return cacheKey('state', tenantId, conversationId);
  }
}

const sessionStateSchema = conversationStateSchema.extend({
  visitorId: z.string().max(128),
  channel: z.enum(['web', 'voice']),
  position: z.string().max(32),
  homeRegion: z.string().max(63).nullable().optional(),
});

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
