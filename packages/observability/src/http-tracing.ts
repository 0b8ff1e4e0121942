import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';

/**
 * HTTP spans without a `require` hook.
 *
 * OpenTelemetry's HTTP instrumentation patches `node:http` through a hook on
 * every `require` call, and kafkajs requires its protocol modules on every
 * request: the hook cost 3 to 7 % of each service's CPU. Parley traces the two
 * HTTP paths it has instead, through what Node.js and fastify already offer:
 * - incoming requests: {@link startServerSpan}/{@link endServerSpan}, called
 *   by service-kit's fastify hooks;
 * - outgoing `fetch` (the LLM SDKs, the knowledge search, webhooks): undici's
 *   `diagnostics_channel` events, with the W3C trace context added to the request.
 */

const tracer = () => trace.getTracer('@parley/observability');
let active = false;

/** True while telemetry takes spans ({@link startTelemetry} with an exporter or processors). */
export function httpTracingActive(): boolean {
  return active;
}

/** A server span and the context to run the handler in. */
export interface ServerSpan {
  span: Span;
  context: Context;
}

/**
 * Starts the span of an incoming request, continuing the caller's W3C trace
 * context (`traceparent`). `route` is the route's pattern (`/v1/sessions/:id`),
 * never the path with its ids, so spans group by route.
 */
export function startServerSpan(request: {
  method: string;
  route: string | undefined;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}): ServerSpan {
  const parent = propagation.extract(context.active(), request.headers);
  const span = tracer().startSpan(
    request.route ? `${request.method} ${request.route}` : request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'url.path': request.path.split('?')[0]!,
        ...(request.route ? { 'http.route': request.route } : {}),
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a server span with the reply's status (5xx is an error; 4xx is the client's). */
export function endServerSpan(server: ServerSpan, statusCode: number, error?: Error): void {
  server.span.setAttribute('http.response.status_code', statusCode);
  if (error) server.span.recordException(error);
  if (statusCode >= 500) server.span.setStatus({ code: SpanStatusCode.ERROR });
  server.span.end();
}

interface UndiciRequest {
  method: string;
  origin: string | URL;
  path: string;
  addHeader(name: string, value: string): unknown;
}

const clientSpans = new WeakMap<object, Span>();

function onCreate(message: unknown): void {
  const { request } = message as { request: UndiciRequest };
  const parent = context.active();
  // The exporter's own requests run with tracing suppressed.
  if (isTracingSuppressed(parent)) return;
  const origin = new URL(String(request.origin));
  const span = tracer().startSpan(
    request.method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': request.method,
        'server.address': origin.hostname,
        ...(origin.port ? { 'server.port': Number(origin.port) } : {}),
        // Without the query: some APIs take a key there.
        'url.full': `${origin.origin}${request.path.split('?')[0]}`,
      },
    },
    parent,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  for (const [name, value] of Object.entries(carrier)) request.addHeader(name, value);
  clientSpans.set(request, span);
}

function onHeaders(message: unknown): void {
  const { request, response } = message as {
    request: object;
    response: { statusCode: number };
  };
  const span = clientSpans.get(request);
  if (!span) return;
  span.setAttribute('http.response.status_code', response.statusCode);
  if (response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The response's body has been read to its end. */
function onTrailers(message: unknown): void {
  const { request } = message as { request: object };
  clientSpans.get(request)?.end();
  clientSpans.delete(request);
}

function onError(message: unknown): void {
  const { request, error } = message as { request: object; error: Error };
  const span = clientSpans.get(request);
  if (!span) return;
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.end();
  clientSpans.delete(request);
}

const CHANNELS: Array<[string, (message: unknown) => void]> = [
  ['undici:request:create', onCreate],
  ['undici:request:headers', onHeaders],
  ['undici:request:trailers', onTrailers],
  ['undici:request:error', onError],
];

/** Turns HTTP tracing on (called by {@link startTelemetry}); the returned function turns it off. */
export function enableHttpTracing(): () => void {
  if (active) return () => undefined;
  active = true;
  for (const [name, listener] of CHANNELS) subscribe(name, listener);
  return () => {
    for (const [name, listener] of CHANNELS) unsubscribe(name, listener);
    active = false;
  };
}
