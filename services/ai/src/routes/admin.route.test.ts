import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { MemoryCacheStore } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { BREAKER_PRESETS, WindowBreaker } from '@parley/resilience';
import { DegradationManager } from '../domain/degradation.js';
import { ProviderHealth } from '../router/provider-health.js';
import { adminRoutes } from './admin.route.js';

const TOKEN = 'operator-token-0123456789abcdef';
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
});

async function build(token = TOKEN) {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'ai',
    level: 'info',
    destination: { write: (l: string) => void lines.push(l) },
  });
  const health = new ProviderHealth(new MemoryCacheStore().client());
  const breakers = new Map([
    ['openai', new WindowBreaker(BREAKER_PRESETS.llm)],
    ['anthropic', new WindowBreaker(BREAKER_PRESETS.llm)],
  ]);
  const degradation = new DegradationManager();
  let level = 'info';
  app = createApp({
    service: 'ai',
    logger,
    metrics: createMetricsRegistry({ service: 'ai', processMetrics: false }),
  });
  await app.register(adminRoutes, {
    token,
    providers: ['openai', 'anthropic'],
    health,
    breakers,
    degradation: () => degradation.status(),
    setLogLevel: (l) => void (level = l),
  });
  await app.ready();
  const auth = { authorization: `Bearer ${TOKEN}` };
  return { app, health, breakers, degradation, lines, auth, level: () => level };
}

describe('admin endpoints', () => {
  it("shows each provider's breaker, cooldown expiry and failure count, and the degradation level; reset closes the breakers", async () => {
    const { app, breakers, degradation, auth } = await build();
    for (let i = 0; i < 3; i++)
      breakers
        .get('openai')!
        .admit()
        .failed(Object.assign(new Error('x'), { status: 503 }));
    breakers
      .get('anthropic')!
      .admit()
      .failed(Object.assign(new Error('x'), { status: 503 }));
    degradation.record(false, 100);
    const status = (
      await app.inject({ method: 'GET', url: '/admin/system-status', headers: auth })
    ).json();
    expect(status.providers.openai).toMatchObject({
      healthy: false,
      breaker: { state: 'open', openUntil: expect.any(Number) },
    });
    expect(status.providers.anthropic).toMatchObject({
      healthy: true,
      cooldownUntil: null,
      breaker: { state: 'closed', recentFailures: 1 },
    });
    expect(status.degradation).toMatchObject({ level: 'L1', models: { failures: 1 } });
    await app.inject({ method: 'POST', url: '/admin/reset-circuits', headers: auth });
    expect(breakers.get('openai')!.state).toBe('closed');
  });

  it('refuses calls without the operator token, and audits every call without logging the token', async () => {
    const { app, lines, auth } = await build();
    const refused = await app.inject({ method: 'GET', url: '/admin/system-status' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'AI_ERR_UNAUTHORIZED' });
    const wrong = await app.inject({
      method: 'GET',
      url: '/admin/system-status',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: '/admin/system-status', headers: auth })).statusCode,
    ).toBe(200);
    const audits = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.audit === true);
    expect(audits.map((a) => a.allowed)).toEqual([false, false, true]);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('reports each provider, then recovers one or resets all', async () => {
    const { app, health, auth } = await build();
    await health.markUnhealthy('openai', 'rate_limited');
    await health.markUnhealthy('anthropic', 'server');
    const status = (
      await app.inject({ method: 'GET', url: '/admin/system-status', headers: auth })
    ).json();
    expect(status.answering).toBe('fallback');
    expect(status.providers.openai).toMatchObject({ healthy: false, reason: 'rate_limited' });
    const one = await app.inject({
      method: 'POST',
      url: '/admin/force-recovery',
      headers: auth,
      payload: { provider: 'openai' },
    });
    expect(one.json()).toEqual({ recovered: ['openai'] });
    expect(await health.isHealthy('openai')).toBe(true);
    expect(await health.isHealthy('anthropic')).toBe(false);
    const bad = await app.inject({
      method: 'POST',
      url: '/admin/force-recovery',
      headers: auth,
      payload: { provider: 'nope' },
    });
    expect(bad.statusCode).toBe(400);
    await app.inject({ method: 'POST', url: '/admin/reset-circuits', headers: auth });
    expect(await health.isHealthy('anthropic')).toBe(true);
  });

  it('changes the log level, refusing unknown levels', async () => {
    const { app, auth, level } = await build();
    expect(
      (await app.inject({ method: 'PUT', url: '/admin/log-level/debug', headers: auth })).json(),
    ).toEqual({ level: 'debug' });
    expect(level()).toBe('debug');
    expect(
      (await app.inject({ method: 'PUT', url: '/admin/log-level/loud', headers: auth })).statusCode,
    ).toBe(400);
  });

  it('does not exist without a configured token', async () => {
    const { app } = await build('');
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/admin/system-status',
          headers: { authorization: 'Bearer ' },
        })
      ).statusCode,
    ).toBe(404);
  });
});
