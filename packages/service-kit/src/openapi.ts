// Its types add `summary`, `tags`, `hide`… to fastify's route schemas, wherever service-kit's are seen.
/// <reference types="@fastify/swagger" preserve="true" />
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import { $ZodType } from 'zod/v4/core';

/**
 * Route schemas in Parley describe; they never validate nor serialize.
 *
 * Every route declares a fastify `schema` made of the zod objects its
 * handler parses with (`parseInput`), so the OpenAPI document at
 * `GET /openapi.json` (@fastify/swagger, zod turned into JSON Schema by
 * fastify-type-provider-zod's `jsonSchemaTransform`) cannot drift from what
 * is enforced. Validation stays in the handlers: they answer each service's
 * own documented codes and messages (`HITL_ERR_INVALID: email: Invalid email
 * address`), which fastify's validation errors would not. So a route whose
 * schema is made of zod objects gets compilers that pass everything through
 * ({@link openApi} sets them): requests reach the handler as sent, replies
 * are `JSON.stringify`-ed as fastify does without a schema (its schema
 * serializer would drop undeclared fields). A route with a plain JSON Schema
 * keeps fastify's validation (`SVC_ERR_VALIDATION`).
 */
export const passThroughValidator = () => (value: unknown) => ({ value });
export const passThroughSerializer = () => (data: unknown) => JSON.stringify(data);

/**
 * With `PARLEY_CHECK_RESPONSES=1` (the test command sets it), every reply is
 * checked against the zod schema the route declares for its status, and one
 * that does not match fails (500, `SVC_ERR_RESPONSE_SCHEMA` in the log): the
 * published document cannot promise what a route does not send. Off in
 * production, where the reply goes out as it is.
 */
export const checkingSerializer =
  ({
    schema,
    url,
    method,
    httpStatus,
  }: {
    schema: unknown;
    url: string;
    method: string;
    httpStatus?: string;
  }) =>
  (data: unknown) => {
    const json = JSON.stringify(data);
    const content = (schema as { content?: Record<string, { schema: unknown }> }).content;
    const zod = (content?.['application/json']?.schema ?? schema) as unknown;
    if (zod instanceof $ZodType) {
      // What the client receives: the JSON text parsed back (dates as strings, no undefined).
      const result = z.safeParse(zod, json === undefined ? undefined : JSON.parse(json));
      if (!result.success)
        throw Object.assign(
          new Error(
            `${method} ${url} answered ${httpStatus} with a body its schema refuses: ${z.prettifyError(result.error)}`,
          ),
          { code: 'SVC_ERR_RESPONSE_SCHEMA' },
        );
    }
    return json;
  };

/** What every error answer of a Parley service looks like (one error handler, `createApp`). */
export const serviceErrorSchema = z
  .looseObject({
    code: z.string().describe('A documented code: `HITL_ERR_NOT_FOUND`, `GW_ERR_BAD_REQUEST`…'),
    message: z.string(),
  })
  .describe('An error: its code, a message for people, and details some codes add');

/** An answer without a body (204). */
export const noContent = z.null().describe('No content');

/** A route, as the app registered it: what {@link describedRoutes} reports. */
export interface RegisteredRoute {
  method: string;
  url: string;
  schema: (FastifySchema & { hide?: boolean }) | undefined;
}

/** Options for {@link openApi}. */
export interface OpenApiOptions {
  title: string;
  version: string;
  description?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document's parts modules add to (security schemes) and the routes it was made from. */
    openApi: {
      /** Security schemes by name, added by {@link describeRoutes}; the document's `components`. */
      securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject>;
      /** Every route registered (HEAD included), with its schema once the hooks have run. */
      routes(): RegisteredRoute[];
    };
  }
}

/**
 * Serves the app's OpenAPI 3.1 document at `GET /openapi.json` (public, no
 * authentication: it describes the API, it holds no data), made by
 * @fastify/swagger from every route's schema. Synchronous, and called by
 * `createApp` before any route: @fastify/swagger learns of routes as they
 * are added (`onRoute`), and one declared before its hook would be missing
 * (as registered with `app.register`, it would load only after the routes a
 * test declares on the app at once).
 */
export function openApi(app: FastifyInstance, options: OpenApiOptions): void {
  // The options objects themselves: hooks of the routes' scopes run after this one.
  const routes: RouteOptions[] = [];
  const securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject> = {};
  app.decorate('openApi', { securitySchemes, routes: () => routes.map(registered) });
  app.addHook('onRoute', (route) => {
    routes.push(route);
    if (describedWithZod(route.schema)) {
      route.validatorCompiler ??= passThroughValidator;
      route.serializerCompiler ??=
        process.env.PARLEY_CHECK_RESPONSES === '1' ? checkingSerializer : passThroughSerializer;
    }
    // Every error has the one shape of createApp's error handler: say so once, here.
    const response = route.schema?.response as Record<string, unknown> | undefined;
    if (response && !Object.keys(response).some((s) => s === 'default' || /^[45]/.test(s)))
      route.schema = { ...route.schema, response: { ...response, default: serviceErrorSchema } };
  });
  // The plugin's function itself, on the root (what `register` would run, later).
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: options.title,
          version: options.version,
          ...(options.description ? { description: options.description } : {}),
        },
        // Filled while the modules register (describeRoutes): swagger reads it when asked.
        components: { securitySchemes },
      },
      transform: jsonSchemaTransform,
    },
    (err) => {
      if (err) throw err;
    },
  );
  app.get(
    '/openapi.json',
    // Hidden: the document does not describe itself (the OpenAPI test's allow-list says so).
    { schema: { hide: true } },
    async () => app.swagger(),
  );
}

/** What {@link describeRoutes} adds to each route of a scope. */
export interface RouteDescription {
  /** OpenAPI tags grouping the scope's operations. */
  tags?: string[];
  /** The scheme every route of the scope needs, by name (added to the document's components). */
  security?: Record<string, OpenAPIV3_1.SecuritySchemeObject>;
}

/**
 * Adds tags and security to every route of `scope` declared after this call
 * that declares a schema. Called by the guards themselves (`requireOperator`,
 * hitl's `requireAgent`), so the document says what is enforced. A route
 * without a schema is left without one: the OpenAPI test names it.
 */
export function describeRoutes(scope: FastifyInstance, description: RouteDescription): void {
  const security = description.security ?? {};
  if (scope.hasDecorator('openApi')) Object.assign(scope.openApi.securitySchemes, security);
  scope.addHook('onRoute', (route) => {
    if (!route.schema) return;
    const schema = route.schema as Record<string, unknown>;
    route.schema = {
      ...schema,
      ...(description.tags
        ? { tags: [...((schema.tags as string[]) ?? []), ...description.tags] }
        : {}),
      ...(Object.keys(security).length
        ? { security: Object.keys(security).map((name) => ({ [name]: [] })) }
        : {}),
    };
  });
}

/** The operators' bearer token (`PARLEY_ADMIN_TOKEN`), as {@link describeRoutes} declares it. */
export const operatorTokenScheme: OpenAPIV3_1.SecuritySchemeObject = {
  type: 'http',
  scheme: 'bearer',
  description: "The operators' token (`PARLEY_ADMIN_TOKEN`); without one, these routes answer 404",
};

/** Whether a route's schema is made of zod objects (descriptions of what its handler parses). */
function describedWithZod(schema: FastifySchema | undefined): boolean {
  if (!schema) return false;
  const parts = [schema.body, schema.params, schema.querystring, schema.headers];
  for (const response of Object.values((schema.response as Record<string, unknown>) ?? {})) {
    const content = (response as { content?: Record<string, { schema: unknown }> }).content;
    parts.push(response, ...Object.values(content ?? {}).map((c) => c.schema));
  }
  return parts.some((part) => part instanceof $ZodType);
}

function registered(route: RouteOptions): RegisteredRoute {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return {
    method: methods.join(','),
    url: route.url,
    schema: route.schema as RegisteredRoute['schema'],
  };
}
