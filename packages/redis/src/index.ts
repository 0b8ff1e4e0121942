/**
 * Redis for Parley: session state, rate limits and caches.
 *
 * ```ts
 * await app.register(redisPlugin, { url: config.redisUrl });
 * await app.redis.set('k', 'v', 'PX', 60_000);
 * ```
 */
export { createRedis, checkRedis, type RedisOptions } from './client.js';
export { redisPlugin } from './plugin.js';
