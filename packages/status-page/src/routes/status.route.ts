import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ServiceError } from '@parley/service-kit';
import { StatusPageErrors, type StatusPageErrorCode } from '../errors.js';
import { renderStatusPage, type StatusDocument } from '../status-page.js';

/** Scripts and styles from this origin only; the page is never framed. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The per-IP rate limit of the public routes, as the host keeps it (the
 * gateway's `IpLimiter` on a bucket of its own).
 */
export interface RequestLimiter {
  /** 0 when allowed, else the milliseconds to wait. */
  check(req: IncomingMessage): Promise<number>;
}

/** Options for {@link statusRoute}. */
export interface StatusRouteOptions {
  /** A per-IP bucket of its own, so status polling never eats into session requests. */
  ipLimiter: RequestLimiter;
  /** The public document (the caller reuses it for a moment under load). */
  document(): Promise<StatusDocument>;
  /** How often the page polls `/status.json`. */
  pollSeconds: number;
  onRefused(code: StatusPageErrorCode): void;
}

const componentState = z.enum(['operational', 'degraded', 'outage', 'no_data']);
const incidentStatus = z.enum(['investigating', 'identified', 'monitoring', 'resolved']);

/** The body of `GET /status.json` (`StatusDocument`). */
const statusDocumentSchema = z.object({
  updatedAt: z.string(),
  stale: z.boolean().describe('Some of it is last-known (reports or incidents could not be read)'),
  overall: z.enum(['operational', 'degraded', 'partial_outage', 'major_outage']),
  overallText: z.string(),
  level: z.object({ level: z.string(), text: z.string() }).nullable(),
  components: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: componentState,
      stateText: z.string(),
      stale: z.boolean(),
      detail: z.string().optional(),
    }),
  ),
  incidents: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      status: incidentStatus,
      statusText: z.string(),
      components: z.array(z.string()),
      createdAt: z.string(),
      updatedAt: z.string(),
      resolvedAt: z.string().nullable(),
      updates: z.array(
        z.object({
          status: incidentStatus,
          statusText: z.string(),
          text: z.string(),
          at: z.string(),
        }),
      ),
    }),
  ),
});

/**
 * The public status page: `GET /status` (HTML rendered on the server, then
 * refreshed by `/status.js`) and `GET /status.json`. No authentication;
 * rate limited per IP like the other public routes.
 */
export async function statusRoute(
  app: FastifyInstance,
  options: StatusRouteOptions,
): Promise<void> {
  const limited = async (request: FastifyRequest, reply: FastifyReply) => {
    const waitMs = await options.ipLimiter.check(request.raw);
    if (waitMs <= 0) return;
    options.onRefused('GW_ERR_RATE_LIMITED');
    void reply.header('retry-after', Math.ceil(waitMs / 1000));
    throw new ServiceError(
      'GW_ERR_RATE_LIMITED',
      'too many status requests',
      StatusPageErrors.GW_ERR_RATE_LIMITED,
      {
        details: { retryAfterMs: waitMs },
      },
    );
  };

  const statusSchema = { tags: ['status'] };
  app.get(
    '/status.json',
    {
      onRequest: limited,
      schema: {
        ...statusSchema,
        summary: "The platform's status: components, level, incidents (public, rate limited)",
        response: { 200: statusDocumentSchema },
      },
    },
    async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send(await options.document()),
  );

  app.get(
    '/status',
    {
      onRequest: limited,
      schema: {
        ...statusSchema,
        summary: 'The status page (HTML, refreshed by `/status.js`)',
        response: { 200: { content: { 'text/html': { schema: z.string() } } } },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(renderStatusPage(await options.document(), { pollSeconds: options.pollSeconds })),
  );
}
