import Module from 'node:module';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { startTelemetry, type Telemetry } from '@parley/observability';
import type { FastifyInstance } from 'fastify';
import { build } from './build.js';

const SERVER = 1;
const CLIENT = 2;
const exporter = new InMemorySpanExporter();
const requireBefore = Module.prototype.require;
let telemetry: Telemetry;
let app: FastifyInstance;
let address: string;
/** A service elsewhere that the handler calls; it records the headers it got. */
let upstream: { url: string; headers: IncomingHttpHeaders[]; close(): void };

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'kit-test',
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    headers.push(req.headers);
    res.writeHead(req.url?.startsWith('/fail?') ? 502 : 200).end('upstream');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    headers,
    close: () => server.close(),
  };
  app = build().app;
  app.get('/traced', async () => 'ok');
  app.post('/calls/:name', async (request) => {
    // After the body was read: the handler still runs in the request's span.
    const active = trace.getSpan(context.active())?.spanContext();
    const res = await fetch(
      `${upstream.url}/${(request.params as { name: string }).name}?key=secret`,
    );
    await res.text();
    return { traceId: active?.traceId, body: request.body };
  });
  address = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  upstream?.close();
  await telemetry?.shutdown();
});

/** The test's own requests, untraced: they play a caller from another system. */
const call = (url: string, init?: RequestInit) =>
  context.with(suppressTracing(context.active()), () => fetch(url, init));

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const parentId = '00f067aa0ba902b7';
const traceparent = `00-${traceId}-${parentId}-01`;

describe('tracing over HTTP', () => {
  it('continues the W3C trace context of an incoming request in a span named by its route', async () => {
    const res = await call(`${address}/traced`, { headers: { traceparent } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    const server = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SERVER && s.name === 'GET /traced');
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext?.spanId).toBe(parentId);
    expect(server?.attributes['http.response.status_code']).toBe(200);
  });

  it('runs the handler in the request’s span, so what it fetches carries the trace on', async () => {
    exporter.reset();
    const res = await call(`${address}/calls/ok`, {
      method: 'POST',
      headers: { traceparent, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'مرحبا 👋' }),
    });
    expect(await res.json()).toEqual({ traceId, body: { text: 'مرحبا 👋' } });
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SERVER && s.name === 'POST /calls/:name')!;
    const client = spans.find((s) => s.kind === CLIENT)!;
    expect(client.spanContext().traceId).toBe(traceId);
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    // The query (a key, for some APIs) stays out of the span.
    expect(client.attributes['url.full']).toBe(`${upstream.url}/ok`);
    expect(client.attributes['http.response.status_code']).toBe(200);
    // The upstream got the client span as its parent.
    expect(upstream.headers.at(-1)?.traceparent).toBe(
      `00-${traceId}-${client.spanContext().spanId}-01`,
    );
  });

  it('marks an upstream’s 5xx as an error of the client span, and makes no span for probes', async () => {
    exporter.reset();
    await call(`${address}/calls/fail`, { method: 'POST' });
    expect((await call(`${address}/healthz`)).status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const client = spans.find((s) => s.kind === CLIENT)!;
    expect(client.attributes['http.response.status_code']).toBe(502);
    expect(client.status.code).toBe(2 /* ERROR */);
    expect(spans.filter((s) => s.kind === SERVER).map((s) => s.name)).toEqual([
      'POST /calls/:name',
    ]);
  });

  it('hooks no `require`: no OpenTelemetry instrumentation package is loaded', () => {
    expect(Module.prototype.require).toBe(requireBefore);
  });
});
