/**
 * Redis for Parley: session state, rate limits, connection slots and pub/sub,
 * behind the `Cache` port.
 *
 * ```ts
 * await app.register(redisPlugin, { url: config.redisUrl });
 * const { allowed, retryAfterMs } = await app.cache.takeTokens(`rl:ip:${ip}`, { capacity: 20, refillPerSecond: 1 });
 * ```
 */
export { createRedis, checkRedis, type RedisClient, type RedisOptions } from './client.js';
export { RedisCache } from './redis-cache.js';
export { redisPlugin } from './plugin.js';
