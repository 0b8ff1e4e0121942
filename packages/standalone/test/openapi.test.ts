import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { format, resolveConfig } from 'prettier';
import { loadConfig } from '@parley/config';
import { aiModule } from '@parley/ai';
import { chatModule } from '@parley/chat';
import { embeddedPorts } from '@parley/embedded';
import { knowledgeModule } from '@parley/embedding';
import { gatewayModule } from '@parley/gateway';
import { hitlModule } from '@parley/hitl';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { migrate } from '@parley/schema';
import { createApp } from '@parley/service-kit';
import { voiceModule } from '@parley/voice';
import { buildApp, configSpec } from '../src/index.js';

/**
 * The OpenAPI documents in docs/openapi/: one per service (its module on the
 * embedded ports, as the service mounts it on Kafka, Redis and Postgres) and
 * the one-process platform's (`parley.json`, the union). This test fails
 * when a committed document is not what the code describes, and when a
 * route has no schema. To write the documents again:
 *
 *   UPDATE_OPENAPI=1 pnpm --filter @parley/standalone exec vitest run test/openapi.test.ts
 */
const REGENERATE =
  'UPDATE_OPENAPI=1 pnpm --filter @parley/standalone exec vitest run test/openapi.test.ts';
const DOCS = fileURLToPath(new URL('../../../docs/openapi/', import.meta.url));

/** Every setting that turns routes on: the admin APIs, OIDC sign-in, Twilio's webhook. */
const config = loadConfig(configSpec, {
  HOST: '127.0.0.1',
  PARLEY_DATA_DIR: ':memory:',
  PARLEY_SESSION_SECRET: 'openapi-secret-openapi-secret-0123456789',
  PARLEY_AGENT_SECRET: 'openapi-agent-secret-openapi-agent-secret',
  PARLEY_ADMIN_TOKEN: 'openapi-admin-token-openapi-admin-token',
  PARLEY_DEMO_KNOWLEDGE: 'false',
  TWILIO_AUTH_TOKEN: 'openapi-twilio-token',
  VOICE_PUBLIC_URL: 'https://voice.example',
  VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/stt',
});

/** The services with an HTTP API, each with the modules its `buildApp` registers. */
const SERVICES: Record<string, FastifyPluginAsync<{ settings: typeof config }>> = {
  gateway: gatewayModule,
  hitl: hitlModule,
  ai: aiModule,
  embedding: knowledgeModule,
  voice: voiceModule,
  chat: chatModule,
};

/**
 * Routes with no schema on purpose, by `METHOD url`, each with why. Anything
 * else without a schema (or with a hidden one) fails the test.
 */
const UNDESCRIBED: Record<string, string> = {
  'GET /openapi.json': 'the document itself',
  'GET /*': "the gateway's static files: the widget script and the demo page",
  'GET /console/*': "the agent console's static files",
  'GET /status.js': "the status page's script (a static file)",
  'GET /status.css': "the status page's style sheet (a static file)",
  'OPTIONS *': "CORS preflight (@fastify/cors), answered for the widget's session requests",
};

const silent = (service: string) => ({
  logger: createLogger({ service, level: 'silent' }),
  metrics: createMetricsRegistry({ service, processMetrics: false }),
});

/** A service's app as its `buildApp` makes it, on the embedded ports instead of the real ones. */
async function serviceApp(service: string): Promise<FastifyInstance> {
  const app = createApp({ service, ...silent(service) });
  await app.register(embeddedPorts, { dataDir: ':memory:' });
  await migrate(app.ports.db);
  await app.register(SERVICES[service]!, { settings: config });
  await app.ready();
  return app;
}

const apps: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const documents: Array<[name: string, build: () => Promise<FastifyInstance>]> = [
  ...Object.keys(SERVICES).map((service): [string, () => Promise<FastifyInstance>] => [
    service,
    () => serviceApp(service),
  ]),
  ['parley', () => buildApp(config, silent('parley'))],
];

describe.each(documents)('the OpenAPI document of %s', (name, build) => {
  let app: FastifyInstance;

  it('describes every route', async () => {
    app = await build();
    apps.push(app);
    await app.ready();
    const undescribed = app.openApi
      .routes()
      .flatMap((route) =>
        route.method
          .split(',')
          .filter((method) => method !== 'HEAD')
          .map((method) => ({ ...route, key: `${method} ${route.url}` })),
      )
      .filter(({ key, schema }) => !(key in UNDESCRIBED) && (!schema?.response || schema.hide))
      .map(({ key }) => key);
    expect(
      undescribed,
      'routes without a schema (declare `schema` with the zod objects the handler parses and a `response`)',
    ).toEqual([]);
  });

  it(`is committed as docs/openapi/${name}.json`, async () => {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const path = `${DOCS}${name}.json`;
    // As `pnpm format` leaves it (the repository's prettier settings).
    const fresh = await format(JSON.stringify(response.json(), null, 2), {
      ...(await resolveConfig(path)),
      parser: 'json',
    });
    if (process.env.UPDATE_OPENAPI) {
      await mkdir(DOCS, { recursive: true });
      await writeFile(path, fresh);
      return;
    }
    const committed = await readFile(path, 'utf8').catch(() => '');
    expect(
      committed === fresh,
      `docs/openapi/${name}.json is stale or missing; regenerate it: ${REGENERATE}`,
    ).toBe(true);
  });
});
