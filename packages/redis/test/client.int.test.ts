import { afterAll, describe, expect, it } from 'vitest';
import { infraEnv, uniqueName } from '@parley/testing';
import { checkRedis, createRedis } from '../src/index.js';

const redis = createRedis({ url: infraEnv().redisUrl });
afterAll(async () => {
  await redis.quit();
});

describe('createRedis on a real Redis', () => {
  it('connects, stores with expiry and reports its role', async () => {
    await redis.connect();
    const key = uniqueName('k');
    await redis.set(key, 'v', 'PX', 5_000);
    expect(await redis.get(key)).toBe('v');
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await checkRedis(redis)).toMatchObject({ role: 'master' });
  });

  it('fails a command quickly instead of hanging when Redis is unreachable', async () => {
    const dead = createRedis({
      url: 'redis://127.0.0.1:1',
      connectTimeoutMs: 300,
      maxRetriesPerRequest: 1,
    });
    dead.on('error', () => undefined);
    const started = Date.now();
    await expect(dead.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    dead.disconnect();
  });
});
