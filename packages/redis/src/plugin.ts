import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import { createRedis, type RedisOptions } from './client.js';
import { RedisCache } from './redis-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    cache: RedisCache;
  }
}

async function redisAdapter(app: FastifyInstance, options: RedisOptions): Promise<void> {
  const redis = createRedis(options);
  redis.on('error', (err) => app.log.warn({ err }, 'Redis connection error'));
  await redis.connect();
  const cache = new RedisCache(redis);
  app.decorate('cache', cache);
  app.ports.provide({ cache });
  // Optional: every service keeps working without Redis (rate limits fail
  // open, session state comes from Postgres, caches miss), and a shared
  // Redis outage must not take every pod out of its Service at once. The
  // check still reports it (health state "degraded").
  app.readiness.add('redis', () => cache.check(), { critical: false, shared: true });
  app.addHook('onClose', () => cache.close());
}

/** Connects to Redis while registering, decorates `app.cache` (and provides `app.ports.cache`), adds an optional readiness check, quits on close. */
export const redisPlugin = fp(redisAdapter, { name: 'parley-redis', fastify: '5.x' });
