import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@parley/config';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { buildApp, configSpec } from '../src/index.js';

/** The session secret of every test platform (tests mint tokens with it). */
export const SESSION_SECRET = 'test-secret-test-secret-test-secret-0123';

/** A running embedded platform on a free loopback port. */
export interface Running {
  app: FastifyInstance;
  baseUrl: string;
  origin: string;
  close(): Promise<void>;
}

/** Starts the whole platform in this process, in memory, with `env` over test defaults. */
export async function startPlatform(env: Record<string, string> = {}): Promise<Running> {
  const config = loadConfig(configSpec, {
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: ':memory:',
    PARLEY_SESSION_SECRET: SESSION_SECRET,
    PARLEY_AGENT_SECRET: 'test-agent-secret-test-agent-secret-0123',
    RATE_LIMIT_IP_BURST: '10000',
    RATE_LIMIT_IP_PER_SECOND: '1000',
    // Tests that answer from the bundled knowledge base turn it on themselves.
    PARLEY_DEMO_KNOWLEDGE: 'false',
    ...env,
  });
  const logger = createLogger({ service: 'parley', level: 'silent' });
  const app = await buildApp(config, {
    logger,
    metrics: createMetricsRegistry({ service: 'parley', processMetrics: false }),
  });
  await app.listen({ host: config.host, port: config.port });
  await app.platform.seeded;
  const { port } = app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return { app, baseUrl, origin: baseUrl, close: () => app.close() };
}
