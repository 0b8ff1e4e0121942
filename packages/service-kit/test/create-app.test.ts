import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { UnavailableError } from '@parley/ports';
import { ServiceError, withErrorPrefix } from '../src/index.js';
import { build } from './build.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('createApp', () => {
  it('answers liveness without touching dependencies', async () => {
    ({ app } = build());
    app.readiness.add('db', async () => {
      throw new Error('down');
    });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('reports ready with per-dependency details when every check passes', async () => {
    ({ app } = build());
    app.readiness.add('db', async () => ({ role: 'primary' }));
    app.readiness.add('cache', async () => undefined);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: { db: { status: 'up', details: { role: 'primary' } }, cache: { status: 'up' } },
    });
  });

  it('reports not ready, naming the failed dependency, when a check fails or hangs', async () => {
    ({ app } = build());
    app.readiness.add('db', async () => undefined);
    app.readiness.add('kafka', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    app.readiness.add('slow', () => new Promise(() => {}));
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'not_ready',
      checks: {
        db: { status: 'up' },
        kafka: { status: 'down', error: 'ECONNREFUSED: connect ECONNREFUSED' },
        slow: { status: 'down', error: 'timed out after 2000 ms' },
      },
    });
  });

  it('stays ready while a shared dependency is down, reporting it and counting the service critical', async () => {
    ({ app } = build());
    app.readiness.add(
      'postgres',
      async () => {
        throw new Error('no primary');
      },
      { shared: true },
    );
    app.readiness.add('local', async () => undefined);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      state: 'critical',
      checks: { postgres: { status: 'down', error: 'no primary' }, local: { status: 'up' } },
    });
    await app.health.check();
    expect(app.health.summary().state).toBe('critical');
    expect(await app.metrics.metrics()).toMatch(/^health_state(\{[^}]*\})? 2$/m);
  });

  it('serves Prometheus metrics including HTTP request counts', async () => {
    ({ app } = build());
    app.get('/hello', async () => 'hi');
    await app.inject({ method: 'GET', url: '/hello' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain(
      'http_requests_total{method="GET",route="/hello",status="200",service="kit-test"} 1',
    );
    expect(res.body).toContain('process_resident_memory_bytes');
  });

  it('keeps a valid incoming request id and replaces an unsafe one', async () => {
    ({ app } = build());
    app.get('/id', async (request) => ({ id: request.id }));
    const kept = await app.inject({
      method: 'GET',
      url: '/id',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(kept.json()).toEqual({ id: 'abc-123' });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await app.inject({
      method: 'GET',
      url: '/id',
      headers: { 'x-request-id': 'bad id <script>' },
    });
    expect(replaced.json().id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never leaks internals in a 500 and logs the error once', async () => {
    let logs: Array<Record<string, unknown>>;
    ({ app, logs } = build());
    app.get('/boom', async () => {
      throw new Error('password=hunter2 at db.internal:5432');
    });
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ code: 'SVC_ERR_INTERNAL', message: 'Internal error' });
    expect(res.body).not.toContain('hunter2');
    expect(logs.filter((l) => l.msg === 'Unhandled error')).toHaveLength(1);
  });

  it('answers 503 with Retry-After while a dependency is unavailable (a Postgres failover)', async () => {
    ({ app } = build());
    app.get('/store', async () => {
      throw new UnavailableError('Postgres primary does not take writes now: host db.internal', {
        code: 'PG_ERR_UNAVAILABLE',
      });
    });
    const res = await app.inject({ method: 'GET', url: '/store' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({
      code: 'PG_ERR_UNAVAILABLE',
      message: 'Temporarily unavailable, retry shortly',
    });
    expect(res.body).not.toContain('db.internal');
  });

  it('answers coded client errors with their code and a clear message', async () => {
    ({ app } = build());
    app.get('/limited', async () => {
      throw new ServiceError('GW_ERR_RATE_LIMITED', 'Too many requests', 429, {
        details: { retryAfterMs: 1000 },
      });
    });
    app.post(
      '/items',
      {
        schema: {
          body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
      },
      async () => 'ok',
    );
    const limited = await app.inject({ method: 'GET', url: '/limited' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({
      code: 'GW_ERR_RATE_LIMITED',
      message: 'Too many requests',
      retryAfterMs: 1000,
    });
    const invalid = await app.inject({ method: 'POST', url: '/items', payload: { nom: 1 } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({
      code: 'SVC_ERR_VALIDATION',
      message: expect.stringContaining('name'),
    });
    const malformed = await app.inject({
      method: 'POST',
      url: '/items',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('SVC_ERR_BAD_REQUEST');
    const missing = await app.inject({ method: 'GET', url: '/nowhere?x=1' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      code: 'SVC_ERR_NOT_FOUND',
      message: 'No route for GET /nowhere',
    });
  });

  it('rejects a body over the size limit with 413', async () => {
    ({ app } = build());
    app.post('/echo', async (request) => request.body);
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      payload: { blob: 'x'.repeat(1_100_000) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('SVC_ERR_PAYLOAD_TOO_LARGE');
  });

  it("answers fastify's own refusals in the catalogue the app names", async () => {
    ({ app } = build());
    app.errorPrefix = 'GW';
    app.post('/echo', async (request) => request.body);
    const cases = [
      { payload: '{not json', type: 'application/json', status: 400, code: 'GW_ERR_BAD_REQUEST' },
      { payload: '', type: 'application/json', status: 400, code: 'GW_ERR_BAD_REQUEST' },
      { payload: 'x', type: 'application/x-unknown', status: 415, code: 'GW_ERR_BAD_REQUEST' },
      {
        payload: JSON.stringify({ blob: 'x'.repeat(1_100_000) }),
        type: 'application/json',
        status: 413,
        code: 'GW_ERR_PAYLOAD_TOO_LARGE',
      },
    ];
    for (const { payload, type, status, code } of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/echo',
        payload,
        headers: { 'content-type': type },
      });
      expect([res.statusCode, res.json().code], type).toEqual([status, code]);
      expect(res.json().code).not.toMatch(/^FST_/);
    }
    const missing = await app.inject({ method: 'GET', url: `/${'n'.repeat(5_000)}` });
    expect(missing.json().code).toBe('GW_ERR_NOT_FOUND');
    expect(missing.json().message.length).toBeLessThan(200);
  });

  it('answers each scope’s refusals with the scope’s prefix, and unknown paths with the root’s', async () => {
    ({ app } = build());
    app.errorPrefix = 'GW';
    app.post('/root', async (request) => request.body);
    await withErrorPrefix(app, 'HITL', async (scope) => {
      scope.post('/hitl', async (request) => request.body);
      // A plugin registered inside keeps the prefix (as a module's route files do).
      await scope.register(async (inner) => {
        inner.post('/hitl/inner', async (request) => request.body);
      });
    });
    await withErrorPrefix(app, 'VOICE', async (scope) => {
      scope.post('/voice', async (request) => request.body);
    });
    const post = (url: string, payload: string) =>
      app!.inject({
        method: 'POST',
        url,
        payload,
        headers: { 'content-type': 'application/json' },
      });
    const codeOf = async (url: string, payload = '{not json') => {
      const res = await post(url, payload);
      return [res.statusCode, res.json().code];
    };
    expect(await codeOf('/root')).toEqual([400, 'GW_ERR_BAD_REQUEST']);
    expect(await codeOf('/hitl')).toEqual([400, 'HITL_ERR_BAD_REQUEST']);
    expect(await codeOf('/hitl/inner')).toEqual([400, 'HITL_ERR_BAD_REQUEST']);
    expect(await codeOf('/voice')).toEqual([400, 'VOICE_ERR_BAD_REQUEST']);
    const huge = JSON.stringify({ blob: 'x'.repeat(1_100_000) });
    expect(await codeOf('/voice', huge)).toEqual([413, 'VOICE_ERR_PAYLOAD_TOO_LARGE']);
    // An unknown path is the root's, its body parsed there too.
    expect(await codeOf('/hitl/nowhere')).toEqual([400, 'GW_ERR_BAD_REQUEST']);
    const missing = await app.inject({ method: 'GET', url: '/hitl/nowhere' });
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'GW_ERR_NOT_FOUND']);
    expect(app.errorPrefix).toBe('GW');
  });
});
