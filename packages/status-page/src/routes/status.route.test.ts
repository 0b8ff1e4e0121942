import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { statusDocument } from '../status-page.js';
import { statusRoute } from './status.route.js';

/**
 * A per-IP limiter that counts in memory (no refill: enough for a burst); the
 * gateway's is a token bucket in the cache, `parley:rl:status:<ip>`.
 */
function burstLimiter(capacity: number) {
  const taken = new Map<string, number>();
  return {
    taken,
    limiter: {
      check: async (req: IncomingMessage) => {
        const ip = req.socket.remoteAddress ?? 'unknown';
        const n = (taken.get(ip) ?? 0) + 1;
        taken.set(ip, n);
        return n <= capacity ? 0 : 1500;
      },
    },
  };
}

let app: FastifyInstance | undefined;
afterEach(async () => app?.close());

async function build(capacity: number) {
  const { limiter, taken } = burstLimiter(capacity);
  const refused: string[] = [];
  app = createApp({
    service: 'gateway',
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: new Registry(),
  });
  await app.register(statusRoute, {
    ipLimiter: limiter,
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

  it('rate limit per IP, answering 429 with a code and Retry-After', async () => {
    const { app, taken, refused } = await build(3);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: '/status.json' })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.inject({ url: '/status' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.json()).toMatchObject({ code: 'GW_ERR_RATE_LIMITED', retryAfterMs: 1500 });
    expect(refused).toHaveLength(3);
    // Counted by the client's address (the gateway keeps it in a bucket of its own).
    expect([...taken.keys()]).toEqual(['127.0.0.1']);
  });
});
