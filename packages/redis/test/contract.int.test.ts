import { cacheContract } from '@parley/port-contracts';
import { infraEnv } from '@parley/testing';
import { RedisCache, createRedis } from '../src/index.js';

cacheContract('Redis', async () => {
  const redis = createRedis({ url: infraEnv().redisUrl });
  await redis.connect();
  return new RedisCache(redis);
});
