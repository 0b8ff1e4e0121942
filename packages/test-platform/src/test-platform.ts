import type { AddressInfo } from 'node:net';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyPluginCallback,
  FastifyPluginOptions,
} from 'fastify';
import { env as field, loadConfig, proxyFields, trustedHops } from '@parley/config';
import { ConversationStore, type Tenant } from '@parley/conversations';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { migrate } from '@parley/schema';
import { createApp } from '@parley/service-kit';

/** Environment variables, as a test sets them (never read from `process.env`). */
export type TestEnv = Readonly<Record<string, string>>;

/** What a module's options are built from when they are a function. */
export interface MountContext {
  /** The app, its ports provided and the modules before this one registered. */
  app: FastifyInstance;
  /** The platform's environment: each module reads its own fields from it (`loadConfig`). */
  env: TestEnv;
}

/** A module and its options, or a function building them once the modules before it are in. */
export type Mount<O extends FastifyPluginOptions> = readonly [
  module: FastifyPluginAsync<O> | FastifyPluginCallback<O>,
  options: NoInfer<O> | ((context: MountContext) => NoInfer<O>),
];

/** A tenant to create once the port is known: it allows the platform's origins unless told otherwise. */
export type TestTenant = Omit<Tenant, 'allowedOrigins'> & { allowedOrigins?: string[] };

/** Options for {@link testPlatform}. */
export interface TestPlatformOptions<M extends readonly FastifyPluginOptions[]> {
  /** The modules to register, in order, each with its options. */
  modules: { readonly [K in keyof M]: Mount<M[K]> };
  /**
   * The environment the modules' settings are read from. The platform itself
   * reads `PARLEY_DATA_DIR` (default `:memory:`), `TRUST_PROXY` and
   * `TRUSTED_PROXY_HOPS`, as the one-process platform does.
   */
  env?: TestEnv;
  /** Tenants created after listening (see {@link TestTenant}). */
  tenants?: TestTenant[];
  /** The service name on logs and metrics. @default 'test' */
  service?: string;
}

/** A running test platform on a free loopback port. */
export interface TestPlatform {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** The origin tenants allow by default: the same as {@link baseUrl}. */
  origin: string;
  /** The conversation store on the platform's database (tenants, conversations, messages). */
  store: ConversationStore;
  /** Creates or updates a tenant, allowing the platform's origins unless told otherwise. */
  addTenant(tenant: TestTenant): Promise<void>;
  /** Closes the app: the modules, then the ports. */
  close(): Promise<void>;
}

/** What the platform reads from the environment for itself. */
const platformFields = {
  ...proxyFields,
  dataDir: field.string('PARLEY_DATA_DIR', { default: ':memory:' }),
};

/**
 * The modules a test names, in this process on the embedded ports (the
 * in-process bus, the in-memory cache, PGlite in memory unless
 * `PARLEY_DATA_DIR` says where), the schema migrated, listening on
 * 127.0.0.1 on a free port, with a silent logger and a metrics registry of
 * its own.
 *
 * ```ts
 * const platform = await testPlatform({
 *   env: { PARLEY_SESSION_SECRET: 'a-secret-of-at-least-32-characters!' },
 *   modules: [
 *     [gatewayModule, ({ env }) => ({ settings: loadConfig(gatewayFields, env) })],
 *     [chatModule, ({ env }) => ({ settings: loadConfig(chatFields, env) })],
 *   ],
 *   tenants: [{ id: 'shop', name: 'Shop', widgetKey: 'pk_shop' }],
 * });
 * // … platform.baseUrl, platform.origin, platform.app …
 * await platform.close();
 * ```
 */
export async function testPlatform<M extends readonly FastifyPluginOptions[]>(
  options: TestPlatformOptions<M>,
): Promise<TestPlatform> {
  const env = options.env ?? {};
  const own = loadConfig(platformFields, env);
  const service = options.service ?? 'test';
  const app = createApp({
    service,
    logger: createLogger({ service, level: 'silent' }),
    metrics: createMetricsRegistry({ service, processMetrics: false }),
    trustedProxyHops: trustedHops(own),
  });
  try {
    await app.register(embeddedPorts, { dataDir: own.dataDir });
    await migrate(app.ports.db);
    for (const [module, moduleOptions] of options.modules as ReadonlyArray<
      Mount<FastifyPluginOptions>
    >) {
      const resolved =
        typeof moduleOptions === 'function' ? moduleOptions({ app, env }) : moduleOptions;
      await app.register(module, resolved);
    }
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const origins = [baseUrl, `http://localhost:${port}`];
  const store = new ConversationStore(app.ports.db);
  const addTenant = (tenant: TestTenant) =>
    store.upsertTenant({ ...tenant, allowedOrigins: tenant.allowedOrigins ?? origins });
  try {
    for (const tenant of options.tenants ?? []) await addTenant(tenant);
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, baseUrl, origin: baseUrl, store, addTenant, close: () => app.close() };
}
