import type { Cluster, Redis } from 'ioredis';
import type { Cache, TokenBucket, TokenResult, Unsubscribe } from '@parley/ports';
import { checkRedis, type RedisClient } from './client.js';

/**
 * Token bucket in one atomic step. KEYS[1] bucket; ARGV capacity, refill per
 * second, cost. Uses the server's clock so pods with skewed clocks agree.
 * Returns {allowed, remaining, retryAfterMs}.
 */
const TAKE_TOKENS = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (math.max(0, now - at) / 1000) * rate)
local allowed = 0
local retry = 0
if cost <= tokens then
  allowed = 1
  tokens = tokens - cost
elseif cost > capacity then
  retry = -1
else
  retry = math.ceil(((cost - tokens) / rate) * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(((capacity - tokens) / rate) * 1000) + 1)
return {allowed, math.floor(tokens), retry}
`;

/**
 * Expiring slots in a sorted set scored by expiry. KEYS[1] set; ARGV member,
 * limit, ttlMs. Returns 1 when the member holds a slot.
 */
const ACQUIRE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

type Scripted = Redis & {
  parleyTakeTokens(
    key: string,
    capacity: number,
    rate: number,
    cost: number,
  ): Promise<[number, number, number]>;
  parleyAcquireSlot(key: string, member: string, limit: number, ttlMs: number): Promise<number>;
};

/**
 * The real {@link Cache}: ioredis with Lua scripts for the atomic parts and a
 * second connection for subscriptions (a subscribed connection can do nothing else).
 */
export class RedisCache implements Cache {
  private readonly redis: Scripted;
  private subscriber: RedisClient | undefined;
  private subscriberReady: Promise<RedisClient> | undefined;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  /**
   * A cluster's pub/sub is sharded (SPUBLISH, SSUBSCRIBE): a channel lives on
   * its slot's node, so its messages keep their order (a plain PUBLISH goes
   * to any node, and two of them can arrive out of order).
   */
  private readonly sharded: boolean;

  /** Takes ownership of `redis`: {@link close} quits it. */
  constructor(redis: RedisClient) {
    this.sharded = 'isCluster' in redis && redis.isCluster;
    redis.defineCommand('parleyTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS });
    redis.defineCommand('parleyAcquireSlot', { numberOfKeys: 1, lua: ACQUIRE_SLOT });
    // The Cluster client has the same commands; typed as one Redis for the scripts' signatures.
    this.redis = redis as Scripted;
  }

  get(key: string): Promise<string | null> {
    return this.redis.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const [[, value]] = (await this.redis
      .multi()
      .incrby(key, by)
      .pexpire(key, Math.max(1, Math.round(ttlMs)), 'NX')
      .exec()) as [[Error | null, number], [Error | null, number]];
    return Number(value);
  }

  async takeTokens(key: string, bucket: TokenBucket, cost = 1): Promise<TokenResult> {
    const [allowed, remaining, retryAfterMs] = await this.redis.parleyTakeTokens(
      key,
      bucket.capacity,
      bucket.refillPerSecond,
      cost,
    );
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async acquireSlot(key: string, member: string, limit: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.parleyAcquireSlot(key, member, limit, Math.round(ttlMs))) === 1;
  }

  async releaseSlot(key: string, member: string): Promise<void> {
    await this.redis.zrem(key, member);
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.sharded) await this.redis.spublish(channel, message);
    else await this.redis.publish(channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    const subscriber = await this.subscriberConnection();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      if (this.sharded) await subscriber.ssubscribe(channel);
      else await subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      await (
        this.sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel)
      ).catch(() => undefined);
    };
  }

  check(): Promise<Record<string, unknown>> {
    return checkRedis(this.redis);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all([
      this.subscriber?.quit().catch(() => undefined),
      this.redis.quit().catch(() => undefined),
    ]);
  }

  /** One subscriber connection, created once: concurrent first callers share it. */
  private subscriberConnection(): Promise<RedisClient> {
    this.subscriberReady ??= (async () => {
      // After a reconnect ioredis re-subscribes by itself (autoResubscribe). No ready
      // check: its INFO can race a SUBSCRIBE and kill the connection (redis/ioredis#2037).
      const options = { lazyConnect: true, commandTimeout: undefined, enableReadyCheck: false };
      const client = this.redis as unknown as RedisClient;
      // A cluster's subscriber holds a connection to each channel's node.
      const subscriber: RedisClient = this.sharded
        ? (client as Cluster).duplicate(undefined, {
            redisOptions: options,
            lazyConnect: true,
            shardedSubscribers: true,
          })
        : (client as Redis).duplicate(options);
      subscriber.on('error', () => undefined);
      const deliver = (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      };
      subscriber.on(this.sharded ? 'smessage' : 'message', deliver);
      try {
        await subscriber.connect();
      } catch (err) {
        this.subscriberReady = undefined;
        subscriber.disconnect();
        throw err;
      }
      this.subscriber = subscriber;
      return subscriber;
    })();
    return this.subscriberReady;
  }
}
