import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { context } from '@opentelemetry/api';
import {
  endServerSpan,
  httpTracingActive,
  startServerSpan,
  type ServerSpan,
} from '@parley/observability';

/**
 * A server span per request, when telemetry takes spans (see
 * `@parley/observability`'s `startTelemetry`): fastify's own hooks instead of
 * OpenTelemetry's `node:http` patch and its `require` hook. The handler runs
 * in the span's context, so what it publishes or fetches continues the trace,
 * even after the body was read (stream events carry no context of their own).
 * Probes (`skip`) make no span.
 */
export function registerTracing(app: FastifyInstance, skip: ReadonlySet<string>): void {
  if (!httpTracingActive()) return;
  const spans = new WeakMap<FastifyRequest, ServerSpan>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler;
    route.handler = function traced(this: FastifyInstance, request, reply) {
      const server = spans.get(request);
      return server
        ? context.with(server.context, handler, this, request, reply)
        : handler.call(this, request, reply);
    };
  });
  app.addHook('onRequest', (request, _reply, done) => {
    if (!skip.has(request.url)) {
      spans.set(
        request,
        startServerSpan({
          method: request.method,
          route: request.routeOptions.url,
          path: request.url,
          headers: request.headers,
        }),
      );
    }
    done();
  });
  const errors = new WeakMap<FastifyRequest, Error>();
  app.addHook('onError', (request, _reply, error, done) => {
    errors.set(request, error);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const server = spans.get(request);
    if (server) endServerSpan(server, reply.statusCode, errors.get(request));
    spans.delete(request);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const server = spans.get(request);
    if (server) endServerSpan(server, 499, new Error('the client closed the request'));
    spans.delete(request);
    done();
  });
}
