import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput, requireOperator } from '../src/index.js';
import { build } from './build.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const itemBody = z.strictObject({ name: z.string().min(1) });
const item = z.object({ name: z.string() });

describe('openApi', () => {
  it('serves the document of every route at /openapi.json, the probes included', async () => {
    ({ app } = build());
    app.post(
      '/items',
      { schema: { summary: 'Adds an item', body: itemBody, response: { 201: item } } },
      async (request, reply) =>
        reply.code(201).send(parseInput(itemBody, request.body, 'SVC_ERR_BAD_REQUEST')),
    );
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'Parley kit-test', version: '1' });
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/readyz/history', '/metrics', '/items']),
    );
    expect(doc.paths['/openapi.json']).toBeUndefined();
    const post = doc.paths['/items'].post;
    expect(post.summary).toBe('Adds an item');
    expect(post.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['name'],
      additionalProperties: false,
    });
    expect(post.responses['201'].content['application/json'].schema.properties.name).toEqual({
      type: 'string',
    });
    // Every error has createApp's one shape.
    expect(post.responses.default.content['application/json'].schema.required).toEqual([
      'code',
      'message',
    ]);
  });

  it('checks every reply against the schema of its status when PARLEY_CHECK_RESPONSES=1 (the test command)', async () => {
    const before = process.env.PARLEY_CHECK_RESPONSES;
    process.env.PARLEY_CHECK_RESPONSES = '1';
    try {
      const logs: string[] = [];
      ({ app } = build());
      app.addHook('onError', async (_request, _reply, err) => void logs.push(String(err.code)));
      app.get('/items/:name', { schema: { response: { 200: item } } }, async (request) => {
        const { name } = request.params as { name: string };
        // A reply that breaks the promise: a number where the document says string.
        return name === 'broken' ? { name: 42 } : { name, extra: 'undeclared fields pass' };
      });
      const good = await app.inject({ method: 'GET', url: '/items/ok' });
      expect([good.statusCode, good.json()]).toEqual([
        200,
        { name: 'ok', extra: 'undeclared fields pass' },
      ]);
      const bad = await app.inject({ method: 'GET', url: '/items/broken' });
      expect(bad.statusCode).toBe(500);
      expect(logs).toContain('SVC_ERR_RESPONSE_SCHEMA');
    } finally {
      if (before === undefined) delete process.env.PARLEY_CHECK_RESPONSES;
      else process.env.PARLEY_CHECK_RESPONSES = before;
    }
  });

  it('leaves validation and serialization of zod-described routes to their handlers', async () => {
    ({ app } = build());
    app.errorPrefix = 'GW';
    app.post(
      '/items',
      { schema: { body: itemBody, response: { 201: item } } },
      async (request, reply) => {
        const body = parseInput(itemBody, request.body, 'GW_ERR_INVALID');
        // A field the response schema does not declare is sent all the same.
        return reply.code(201).send({ ...body, extra: true });
      },
    );
    const invalid = await app.inject({ method: 'POST', url: '/items', payload: { nom: 1 } });
    expect(invalid.statusCode).toBe(400);
    // The handler's code and message, not fastify's validation error (GW_ERR_BAD_REQUEST).
    expect(invalid.json().code).toBe('GW_ERR_INVALID');
    expect(invalid.json().message).toContain('name:');
    const ok = await app.inject({ method: 'POST', url: '/items', payload: { name: 'a' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toEqual({ name: 'a', extra: true });
  });

  it("declares the operators' token on the routes requireOperator guards", async () => {
    ({ app } = build());
    await app.register(async (scope) => {
      requireOperator(scope, { token: 'secret', codePrefix: 'SVC' });
      scope.get('/admin/things', { schema: { response: { 200: item } } }, async () => ({
        name: 'x',
      }));
    });

    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/admin/things'].get).toMatchObject({
      tags: ['admin'],
      security: [{ operatorToken: [] }],
    });
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    // The document itself is public.
    expect((await app.inject({ method: 'GET', url: '/admin/things' })).statusCode).toBe(401);
  });

  it('lists every route with the schema it declared', async () => {
    ({ app } = build());
    app.get('/bare', async () => 'x');
    await app.ready();
    const routes = app.openApi.routes().filter((r) => r.method !== 'HEAD');
    expect(routes.find((r) => r.url === '/bare')).toEqual({
      method: 'GET',
      url: '/bare',
      schema: undefined,
    });
    expect(routes.find((r) => r.url === '/healthz')?.schema?.response).toBeDefined();
  });
});
