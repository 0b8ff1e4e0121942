import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import { ServiceError } from './errors.js';
import { describeRoutes, operatorTokenScheme } from './openapi.js';

/** Options for {@link requireOperator}. */
export interface OperatorAuthOptions {
  /** Operators' bearer token; empty turns the routes off (every call 404s). */
  token: string;
  /** Error code prefix of the service (`AI` gives AI_ERR_UNAUTHORIZED, AI_ERR_NOT_FOUND). */
  codePrefix: string;
  /**
   * How the OpenAPI document names the token, when it is not the operators'
   * (`PARLEY_ADMIN_TOKEN`): `{ searchToken: { type: 'http', scheme: 'bearer', … } }`.
   */
  securityScheme?: Record<string, OpenAPIV3_1.SecuritySchemeObject>;
}

function authorized(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Guards every route of the (encapsulated) plugin `app` with the operators'
 * bearer token, compared in constant time, and audits every call, allowed or
 * refused: a log line with `audit: true`, the action and the caller's
 * address, never the token. Without a token the routes do not exist.
 */
export function requireOperator(app: FastifyInstance, options: OperatorAuthOptions): void {
  // The OpenAPI document says so of each route (and tags it `admin`).
  describeRoutes(app, {
    tags: ['admin'],
    security: options.securityScheme ?? { operatorToken: operatorTokenScheme },
  });
  app.addHook('onRequest', async (request) => {
    if (!options.token)
      throw new ServiceError(`${options.codePrefix}_ERR_NOT_FOUND`, 'Not found', 404);
    const ok = authorized(request, options.token);
    request.log.info(
      {
        audit: true,
        action: `${request.method} ${request.routeOptions.url ?? request.url}`,
        ip: request.ip,
        allowed: ok,
      },
      'Admin call',
    );
    if (!ok)
      throw new ServiceError(
        `${options.codePrefix}_ERR_UNAUTHORIZED`,
        'A valid operator token is required',
        401,
      );
  });
}
