import type { Cache, TokenBucket, TokenResult, Unsubscribe } from '@parley/ports';

/** Options for {@link MemoryCacheStore}. */
export interface MemoryCacheOptions {
  /** Values kept at most; the oldest are evicted first. @default 100000 */
  maxEntries?: number;
  /** How often expired entries are swept. @default 10000 */
  sweepIntervalMs?: number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * The memory behind one or more {@link MemoryCache} clients (as one Redis
 * behind several pods). Values and buckets are bounded and expire; nothing
 * survives the process.
 */
export class MemoryCacheStore {
  readonly values = new Map<string, Entry>();
  readonly buckets = new Map<string, { tokens: number; at: number; expiresAt: number }>();
  readonly slots = new Map<string, Map<string, number>>();
  readonly channels = new Map<string, Set<(message: string) => void>>();
  readonly maxEntries: number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000).unref();
  }

  /** A client of this store. */
  client(): Cache {
    return new MemoryCache(this);
  }

  /** Stops the sweeper. */
  close(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.values) if (entry.expiresAt <= now) this.values.delete(key);
    for (const [key, bucket] of this.buckets) if (bucket.expiresAt <= now) this.buckets.delete(key);
    for (const [key, members] of this.slots) {
      for (const [member, expiresAt] of members) if (expiresAt <= now) members.delete(member);
      if (members.size === 0) this.slots.delete(key);
    }
  }
}

/** One client of a {@link MemoryCacheStore}: the embedded stand-in for Redis. */
export class MemoryCache implements Cache {
  private readonly subscriptions = new Set<Unsubscribe>();

  constructor(private readonly store: MemoryCacheStore) {}

  async get(key: string): Promise<string | null> {
    return this.read(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.write(key, value, ttlMs);
  }

  /** Atomic like Redis' SET NX: the check and the write happen without yielding. */
  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.read(key) !== null) return false;
    this.write(key, value, ttlMs);
    return true;
  }

  private read(key: string): string | null {
    const entry = this.store.values.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.store.values.delete(key);
      return null;
    }
    return entry.value;
  }

  private write(key: string, value: string, ttlMs: number): void {
    const { values, maxEntries } = this.store;
    values.delete(key);
    values.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (values.size > maxEntries) values.delete(values.keys().next().value!);
  }

  async delete(key: string): Promise<void> {
    this.store.values.delete(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const entry = this.read(key) === null ? undefined : this.store.values.get(key);
    const next = (entry ? Number(entry.value) || 0 : 0) + by;
    if (entry) entry.value = String(next);
    else this.write(key, String(next), ttlMs);
    return next;
  }

  async takeTokens(key: string, bucket: TokenBucket, cost = 1): Promise<TokenResult> {
    const now = Date.now();
    const state = this.store.buckets.get(key) ?? { tokens: bucket.capacity, at: now, expiresAt: 0 };
    const tokens = Math.min(
      bucket.capacity,
      state.tokens + ((now - state.at) / 1000) * bucket.refillPerSecond,
    );
    const allowed = cost <= tokens;
    const left = allowed ? tokens - cost : tokens;
    const fullInMs = ((bucket.capacity - left) / bucket.refillPerSecond) * 1000;
    this.store.buckets.set(key, {
      tokens: left,
      at: now,
      expiresAt: now + Math.ceil(fullInMs) + 1,
    });
    return {
      allowed,
      remaining: Math.floor(left),
      retryAfterMs: allowed
        ? 0
        : cost > bucket.capacity
          ? -1
          : Math.ceil(((cost - tokens) / bucket.refillPerSecond) * 1000),
    };
  }

  async acquireSlot(key: string, member: string, limit: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const members = this.store.slots.get(key) ?? new Map<string, number>();
    for (const [m, expiresAt] of members) if (expiresAt <= now) members.delete(m);
    if (!members.has(member) && members.size >= limit) return false;
    members.set(member, now + ttlMs);
    this.store.slots.set(key, members);
    return true;
  }

  async releaseSlot(key: string, member: string): Promise<void> {
    this.store.slots.get(key)?.delete(member);
  }

  async publish(channel: string, message: string): Promise<void> {
    for (const listener of this.store.channels.get(channel) ?? []) {
      queueMicrotask(() => listener(message));
    }
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    const { channels } = this.store;
    const listeners = channels.get(channel) ?? new Set();
    listeners.add(listener);
    channels.set(channel, listeners);
    const unsubscribe: Unsubscribe = async () => {
      this.subscriptions.delete(unsubscribe);
      listeners.delete(listener);
      if (listeners.size === 0 && channels.get(channel) === listeners) channels.delete(channel);
    };
    this.subscriptions.add(unsubscribe);
    return unsubscribe;
  }

  async check(): Promise<Record<string, unknown>> {
    return { mode: 'memory', values: this.store.values.size };
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((u) => u()));
  }
}
