import type { Logger } from '@parley/observability';
import { isUnavailableError } from '@parley/ports';
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { isServiceError } from './errors.js';
import { HealthMonitor } from './health-monitor.js';
import { Readiness } from './readiness.js';
import { StatusPublisher } from './status-publisher.js';
import { PortRegistry } from './ports.js';
import { UpgradeRouter } from './upgrades.js';
import { openApi, type OpenApiOptions } from './openapi.js';
import { registerTracing } from './tracing.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Dependency checks behind `/readyz`; adapter plugins add theirs. */
    readiness: Readiness;
    health: HealthMonitor;
    /**
     * Publishes the monitor's summary on the region's status board (the
     * gateway's status page); `launch` attaches it to `app.cache` when an
     * adapter decorated one.
     */
    status: StatusPublisher;
    /** The service's Prometheus registry, served at `/metrics`. */
    metrics: Registry;
    /**
     * The process's pino logger (`app.log` is the same instance, typed as
     * fastify's narrower logger): what modules hand to their domain classes.
     */
    logger: Logger;
    /** WebSocket upgrades by path; any other path is answered 404. */
    upgrades: UpgradeRouter;
    /**
     * The prefix of the codes this app answers with when fastify refuses a
     * request (unknown path, bad JSON, too large a body): `SVC` by default, a
     * public catalogue's own (`GW`) where one is documented. Read from the
     * route's own scope: a module's routes registered with
     * {@link withErrorPrefix} answer with the module's prefix, whatever the
     * root's; unknown paths and WebSocket upgrades answer with the root's.
     */
    errorPrefix: string;
    /** What modules run on, provided by the infrastructure plugins (see {@link PortRegistry}). */
    ports: PortRegistry;
  }
}

/** Options for {@link createApp}. */
export interface AppOptions {
  /** The service's name, for logs and metrics. */
  service: string;
  /** A pino logger (from `@parley/observability`'s `createLogger`): `app.log` and `app.logger`. */
  logger: Logger;
  /** The registry served at `/metrics`. */
  metrics: Registry;
  /** Largest accepted request body. @default 1048576 (1 MiB) */
  bodyLimitBytes?: number;
  /** Time allowed for a whole request. @default 30000 */
  requestTimeoutMs?: number;
  /** Time allowed for each readiness check. @default 2000 */
  readinessTimeoutMs?: number;
  /** How often the health monitor runs the checks (every 30 s in the design). @default 30000 */
  healthIntervalMs?: number;
  /**
   * Proxies in front that append the client to X-Forwarded-For: `request.ip`
   * is the entry this many hops from the right. @default 0 (the peer)
   */
  trustedProxyHops?: number;
  /**
   * The OpenAPI document's title and version (`GET /openapi.json`).
   * @default { title: `Parley ${service}`, version: '1' } (the `/v1` API)
   */
  openApi?: Partial<OpenApiOptions>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROBE_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Builds a fastify instance with what every Parley service shares:
 * - `GET /healthz` liveness (the process is up and its event loop turns),
 * - `GET /readyz` readiness (every registered dependency check passes; 503 while draining),
 * - `GET /metrics` Prometheus exposition with HTTP request metrics,
 * - request ids (a valid incoming `x-request-id` is kept, else a UUID; echoed on the reply),
 * - one error handler: validation errors become 400 with a code, {@link ServiceError}s keep their
 *   code and status, anything else is logged once and answered with a generic 500,
 * - one `upgrade` listener ({@link UpgradeRouter}): every WebSocket upgrade is answered,
 * - `GET /openapi.json`, the OpenAPI document of every route ({@link openApi}); zod route
 *   schemas describe what the handler parses, and never validate or serialize (see
 *   `passThroughValidator`).
 */
export function createApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    // The peer and the hops before it are trusted proxies (proxy-addr counts from the peer, 0).
    trustProxy: (_address: string, hop: number) => hop < (options.trustedProxyHops ?? 0),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (req) => PROBE_ROUTES.has(req.url),
    }),
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  }) as unknown as FastifyInstance;
  // First: its onRoute hook wraps the handlers of every route added after it.
  registerTracing(app, PROBE_ROUTES);

  app.decorate('readiness', new Readiness(options.readinessTimeoutMs ?? 2_000));
  app.decorate(
    'health',
    new HealthMonitor(app.readiness, { intervalMs: options.healthIntervalMs ?? 30_000 }),
  );
  registerHealthMetrics(app.health, options.metrics);
  app.decorate('status', new StatusPublisher(app.health, options.service));
  app.addHook('onReady', async () => app.health.start());
  app.addHook('onClose', async () => {
    app.health.stop();
    app.status.close();
  });
  app.decorate('metrics', options.metrics);
  app.decorate('logger', options.logger);
  app.decorate('ports', new PortRegistry());
  registerHttpMetrics(app, options.metrics);
  app.decorate('errorPrefix', 'SVC');
  app.decorate('upgrades', new UpgradeRouter(app.log, () => `${app.errorPrefix}_ERR_NOT_FOUND`));
  app.server.on('upgrade', app.upgrades.handle);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A keep-alive connection would hold the server open after its last in-flight reply.
    if (app.readiness.draining) reply.header('connection', 'close');
  });
  app.addHook('preClose', async () => app.readiness.startDraining());

  app.setErrorHandler((err, request, reply) => {
    if (isServiceError(err)) {
      if (err.statusCode >= 500) request.log.error({ err }, 'Request failed');
      return reply.code(err.statusCode).send({
        code: err.code,
        message: err.statusCode >= 500 ? 'Internal error' : err.message,
        ...err.details,
      });
    }
    const fastifyError = err as {
      validation?: unknown;
      statusCode?: number;
      code?: string;
      message: string;
    };
    if (isUnavailableError(err)) {
      // A dependency is down for now (Postgres failing over): ask to retry soon.
      request.log.warn({ err }, 'Dependency unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({
          code: (err as { code?: string }).code ?? 'SVC_ERR_UNAVAILABLE',
          message: 'Temporarily unavailable, retry shortly',
        });
    }
    // The scope the route was declared in (fastify 5: `request.server`), so a module
    // keeps its own catalogue beside others in one app; a 404's scope is the root.
    const prefix = request.server.errorPrefix;
    if (fastifyError.validation) {
      const code = prefix === 'SVC' ? 'SVC_ERR_VALIDATION' : `${prefix}_ERR_BAD_REQUEST`;
      return reply.code(400).send({ code, message: fastifyError.message });
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own refusals (FST_ERR_CTP_INVALID_JSON_BODY...) in the app's catalogue.
      const code = status === 413 ? `${prefix}_ERR_PAYLOAD_TOO_LARGE` : `${prefix}_ERR_BAD_REQUEST`;
      return reply.code(status).send({ code, message: fastifyError.message });
    }
    request.log.error({ err }, 'Unhandled error');
    return reply.code(500).send({ code: 'SVC_ERR_INTERNAL', message: 'Internal error' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: `${app.errorPrefix}_ERR_NOT_FOUND`,
      message: `No route for ${request.method} ${request.url.split('?')[0]!.slice(0, 100)}`,
    }),
  );

  // Before any route: the document is made of the routes added after this.
  openApi(app, {
    title: options.openApi?.title ?? `Parley ${options.service}`,
    version: options.openApi?.version ?? '1',
    ...(options.openApi?.description ? { description: options.openApi.description } : {}),
  });
  probeRoutes(app, options.metrics);
  return app;
}

const probe = { tags: ['probes'] };
const checkResult = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  details: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
});
const readinessReport = z
  .object({
    status: z.enum(['ready', 'not_ready', 'draining']),
    state: z.enum(['healthy', 'degraded', 'critical']),
    checks: z.record(z.string(), checkResult),
  })
  .describe('Whether this pod takes traffic, and each dependency check');
const healthSummary = z.object({
  state: z.enum(['healthy', 'degraded', 'critical']),
  checkedAt: z.string().nullable(),
  dependencies: z.record(
    z.string(),
    z.object({
      status: z.enum(['up', 'down']),
      critical: z.boolean(),
      since: z.string(),
      availability: z.number(),
      recoveries: z.number().int(),
      mttrSeconds: z.number().nullable(),
      downForSeconds: z.number().nullable(),
      samples: z.array(
        z.object({ at: z.string(), status: z.enum(['up', 'down']), latencyMs: z.number() }),
      ),
    }),
  ),
});

/** Liveness, readiness, the health monitor's view and the Prometheus metrics. */
function probeRoutes(app: FastifyInstance, metrics: Registry): void {
  app.get(
    '/healthz',
    {
      schema: {
        ...probe,
        summary: 'Liveness: the process is up and its event loop turns',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        ...probe,
        summary: 'Readiness: every dependency check passes (503 otherwise, and while draining)',
        response: { 200: readinessReport, 503: readinessReport },
      },
    },
    async (_request, reply) => {
      const report = await app.readiness.report();
      app.health.record(report);
      return reply.code(report.status === 'ready' ? 200 : 503).send(report);
    },
  );
  // The monitor's view: state, each dependency's last results, availability and MTTR.
  app.get(
    '/readyz/history',
    {
      schema: {
        ...probe,
        summary: "The health monitor's view: each dependency's last results, availability, MTTR",
        response: { 200: healthSummary },
      },
    },
    async () => app.health.summary(),
  );
  app.get(
    '/metrics',
    {
      schema: {
        ...probe,
        summary: 'Prometheus metrics',
        response: {
          200: { content: { 'text/plain; version=0.0.4': { schema: z.string() } } },
        },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
  );
}

/**
 * Registers a module's routes in a child scope of `app` whose fastify
 * refusals (bad JSON, too large a body, a failed schema) answer with
 * `prefix`: `HITL_ERR_BAD_REQUEST`, `HITL_ERR_PAYLOAD_TOO_LARGE`. The
 * module's codes are then the same alone (the service's root is `SVC`) and
 * beside the others in one app (the embedded root is the gateway's `GW`).
 * Unknown paths stay the root's.
 *
 * ```ts
 * await withErrorPrefix(app, 'HITL', async (scope) => {
 *   await scope.register(agentRoutes, options);
 * });
 * ```
 */
export async function withErrorPrefix(
  app: FastifyInstance,
  prefix: string,
  routes: (scope: FastifyInstance) => Promise<void>,
): Promise<void> {
  await app.register(async (scope) => {
    scope.errorPrefix = prefix;
    await routes(scope);
  });
}

function registerHealthMetrics(health: HealthMonitor, registry: Registry): void {
  const STATE = { healthy: 0, degraded: 1, critical: 2 } as const;
  new Gauge({
    name: 'health_state',
    help: 'The service by its dependencies: 0 healthy, 1 degraded (optional ones down), 2 critical.',
    registers: [registry],
    collect() {
      this.set(STATE[health.summary({ samples: false }).state]);
    },
  });
  const perDependency = (
    name: string,
    help: string,
    value: (d: ReturnType<HealthMonitor['summary']>['dependencies'][string]) => number | null,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['dependency'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [dependency, d] of Object.entries(
          health.summary({ samples: false }).dependencies,
        )) {
          const v = value(d);
          if (v !== null) this.set({ dependency }, v);
        }
      },
    });
  perDependency(
    'health_dependency_up',
    'Whether the dependency answered its last check (1) or not (0).',
    (d) => (d.status === 'up' ? 1 : 0),
  );
  perDependency(
    'health_dependency_availability_ratio',
    'Share of the last 100 checks the dependency passed.',
    (d) => d.availability,
  );
  perDependency(
    'health_dependency_mttr_seconds',
    'Mean time to recovery of the dependency over the outages the monitor saw.',
    (d) => d.mttrSeconds,
  );
}

function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (PROBE_ROUTES.has(route)) return;
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
