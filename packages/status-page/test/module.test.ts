import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually } from '@parley/testing';
import { statusPageModule, statusPageFields } from '../src/index.js';

/**
 * The module as the gateway mounts it (after setting its `GW` prefix), on the
 * embedded ports: the public page, its script and styles, the operators' API
 * and the probe's metrics. Incidents need the schema's migrations; without
 * them the page shows no incidents, marked stale.
 */
const TOKEN = 'operator-token-0123456789abcdef';
const apps: FastifyInstance[] = [];

async function mount(env: Record<string, string>): Promise<FastifyInstance> {
  const app = createApp({
    service: 'gateway',
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'gateway', processMetrics: false }),
  });
  apps.push(app);
  await app.register(embeddedPorts, {});
  app.errorPrefix = 'GW';
  await app.register(statusPageModule, {
    settings: loadConfig(statusPageFields, env),
    ipLimiter: { check: async () => 0 },
  });
  await app.ready();
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  app = await mount({ PARLEY_ADMIN_TOKEN: TOKEN, STATUS_COMPONENTS: 'gateway,ai' });
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

const operator = (method: 'GET' | 'POST', url: string, payload?: object, token = TOKEN) =>
  app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });

describe('the status page module', () => {
  it('serves the page, its JSON, its script and its styles without authentication', async () => {
    const page = await app.inject({ url: '/status' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/status.js" defer></script>');
    const doc = (await app.inject({ url: '/status.json' })).json<{
      components: Array<{ id: string }>;
    }>();
    expect(doc.components.map((c) => c.id)).toEqual(['gateway', 'ai']);
    for (const [url, type] of [
      ['/status.js', 'application/javascript; charset=utf-8'],
      ['/status.css', 'text/css; charset=utf-8'],
    ]) {
      const res = await app.inject({ url });
      expect([res.statusCode, res.headers['content-type']], url).toEqual([200, type]);
      expect(res.headers['cache-control']).toBe('public, max-age=60');
    }
  });

  it('takes probe results from operators only, shows them on the page and as metrics', async () => {
    const run = { success: true, at: new Date().toISOString(), latencySeconds: { total: 1.5 } };
    const refused = await operator('POST', '/admin/probe-results', run, 'not-the-token');
    expect([refused.statusCode, refused.json().code]).toEqual([401, 'GW_ERR_UNAUTHORIZED']);
    const bad = await operator('POST', '/admin/probe-results', { ...run, success: 'yes' });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'GW_ERR_BAD_REQUEST']);
    expect((await operator('POST', '/admin/probe-results', run)).statusCode).toBe(202);

    await expectEventually(async () => {
      const doc = (await app.inject({ url: '/status.json' })).json<{
        components: Array<{ id: string; state: string; detail?: string }>;
      }>();
      expect(doc.components.find((c) => c.id === 'synthetic-chat')).toMatchObject({
        state: 'operational',
        detail: expect.stringMatching(/answered in 1\.50 s$/),
      });
    });
    expect(await app.metrics.getSingleMetricAsString('parley_probe_success')).toMatch(
      /parley_probe_success\{[^}]*component="synthetic-chat"[^}]*\} 1/,
    );
    const board = (await operator('GET', '/admin/status/board')).json<{
      entries: Array<{ report: { service: string } }>;
    }>();
    expect(board.entries.map((e) => e.report.service)).toContain('probe');
  });

  it('turns the operators’ API off without a token, with the GW code', async () => {
    const off = await mount({});
    const res = await off.inject({ method: 'GET', url: '/admin/status/board' });
    expect([res.statusCode, res.json().code]).toEqual([404, 'GW_ERR_NOT_FOUND']);
    expect((await off.inject({ url: '/status.json' })).statusCode).toBe(200);
  });
});
