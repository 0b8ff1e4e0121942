/** A token bucket: `capacity` tokens, refilled continuously at `refillPerSecond`. */
export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
}

/** The outcome of {@link Cache.takeTokens}. */
export interface TokenResult {
  allowed: boolean;
  /** Tokens left after this call. */
  remaining: number;
  /** When refused, how long until enough tokens are back; -1 when the cost exceeds the capacity. */
  retryAfterMs: number;
}

/** Stops a subscription. */
export type Unsubscribe = () => Promise<void>;

/**
 * What Parley keeps in Redis: values with a time to live, atomic rate-limit
 * buckets, expiring connection slots, and fire-and-forget pub/sub. Every
 * method is atomic on its own. Keys are namespaced by the caller.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key is absent; true when it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Adds `by` to the integer at `key` (0 when absent) and returns the new value; the key expires `ttlMs` after it was created. */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  /** Takes `cost` tokens from the bucket at `key` if it holds that many. */
  takeTokens(key: string, bucket: TokenBucket, cost?: number): Promise<TokenResult>;
  /**
   * Holds one of at most `limit` slots at `key` for `member` until `ttlMs`
   * from now (calling again refreshes it). False when all slots are taken.
   * Slots of a holder that died expire on their own.
   */
  acquireSlot(key: string, member: string, limit: number, ttlMs: number): Promise<boolean>;
  releaseSlot(key: string, member: string): Promise<void>;
  /** Best effort: subscribers connected now receive it, in publish order. */
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe>;
  /** Details for readiness; throws when the cache is unusable. */
  check(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}
