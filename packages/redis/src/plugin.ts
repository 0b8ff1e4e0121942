import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { checkRedis, createRedis, type RedisOptions } from './client.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

async function redisAdapter(app: FastifyInstance, options: RedisOptions): Promise<void> {
  const redis = createRedis(options);
  redis.on('error', (err) => app.log.warn({ err }, 'Redis connection error'));
  await redis.connect();
  app.decorate('redis', redis);
  app.readiness.add('redis', () => checkRedis(redis));
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
}

/** Connects to Redis while registering, adds a readiness check, quits on close. */
export const redisPlugin = fp(redisAdapter, { name: 'parley-redis', fastify: '5.x' });
