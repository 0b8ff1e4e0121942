import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Cache, TokenBucket } from '@parley/ports';
import { createLogger } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { statusDocument } from '../status/status-page.js';
import { IpLimiter } from './ip-limiter.js';
import { statusRoute } from './status.route.js';

/** A cache whose token buckets count per key in memory (no refill: enough for a burst). */
function bucketCache() {
  const taken = new Map<string, number>();
  return {
    taken,
    cache: {
      takeTokens: async (key: string, bucket: TokenBucket) => {
        const n = (taken.get(key) ?? 0) + 1;
        taken.set(key, n);
        const allowed = n <= bucket.capacity;
        return {
          allowed,
          remaining: Math.max(0, bucket.capacity - n),
          retryAfterMs: allowed ? 0 : 1500,
        };
      },
    } as unknown as Cache,
  };
}

let app: FastifyInstance | undefined;
afterEach(async () => app?.close());

async function build(capacity: number) {
  const { cache, taken } = bucketCache();
  const refused: string[] = [];
  app = createApp({
    service: 'gateway',
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: new Registry(),
  });
  await app.register(statusRoute, {
    ipLimiter: new IpLimiter(cache, { capacity, refillPerSecond: 1 }, 0, 'parley:rl:status:'),
    document: async () =>
      statusDocument(
        { stale: false, overall: 'operational', level: 'L0', components: [], probe: null },
        { incidents: [], stale: false },
        new Date(),
      ),
    pollSeconds: 15,
    onRefused: (code) => refused.push(code),
  });
  return { app, taken, refused };
}

describe('the public status routes', () => {
  it('serve the page with a strict content security policy, and the JSON, without authentication', async () => {
    const { app } = await build(10);
    const page = await app.inject({ url: '/status' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain(
      "default-src 'none'; script-src 'self'",
    );
    expect(page.body).toContain('All systems operational');
    const json = await app.inject({ url: '/status.json' });
    expect(json.json()).toMatchObject({ overall: 'operational', level: { level: 'L0' } });
  });

  it('rate limit per IP in a bucket of their own, answering 429 with a code and Retry-After', async () => {
    const { app, taken, refused } = await build(3);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: '/status.json' })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.inject({ url: '/status' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.json()).toMatchObject({ code: 'GW_ERR_RATE_LIMITED', retryAfterMs: 1500 });
    expect(refused).toHaveLength(3);
    // Not the widget sessions' bucket (parley:rl:ip:…): polling never blocks a chat.
    expect([...taken.keys()]).toEqual(['parley:rl:status:127.0.0.1']);
  });
});
