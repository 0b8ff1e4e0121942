/**
 * The process side of a service, kept apart from the rest of the kit so that
 * telemetry starts before fastify (and `node:http`) load.
 *
 * ```ts
 * // services/chat/src/main.ts
 * import { launch } from '@parley/service-kit/launch';
 * import { configSpec } from './config.js';
 * process.exit(await launch({ service: 'chat', spec: configSpec, env: process.env, app: () => import('./app.js') }));
 * ```
 */
import {
  isConfigError,
  loadConfig,
  type ConfigOf,
  type ConfigSpec,
  type serviceFields,
} from '@parley/config';
import {
  createLogger,
  createMetricsRegistry,
  startTelemetry,
  type Logger,
  type Registry,
} from '@parley/observability';
import type { Cache } from '@parley/ports';
import type { FastifyInstance } from 'fastify';

/** What `launch` hands to a service's `buildApp`. */
export interface ServiceDeps {
  logger: Logger;
  metrics: Registry;
}

/** Options for {@link launch}. */
export interface LaunchOptions<S extends ConfigSpec & typeof serviceFields> {
  service: string;
  spec: S;
  /** `process.env`, passed by `main.ts`, the only module that reads it. */
  env: Readonly<Record<string, string | undefined>>;
  /** Loads the service's `app.ts` (after telemetry has started). */
  app: () => Promise<{
    buildApp(config: ConfigOf<S>, deps: ServiceDeps): Promise<FastifyInstance>;
  }>;
}

/**
 * Validates the configuration (a bad value ends the process naming the variable),
 * starts telemetry, logging and metrics, builds and runs the app until SIGTERM or
 * SIGINT, and resolves with the exit code.
 */
export async function launch<S extends ConfigSpec & typeof serviceFields>(
  options: LaunchOptions<S>,
): Promise<number> {
  let config: ConfigOf<S>;
  try {
    config = loadConfig(options.spec, options.env);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    process.stderr.write(`${options.service}: ${err.message}\n`);
    return 1;
  }
  const base = config as ConfigOf<typeof serviceFields>;
  const telemetry = startTelemetry({
    serviceName: options.service,
    region: base.region,
    otlpTracesUrl: options.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
  });
  const logger = createLogger({
    service: options.service,
    level: base.logLevel,
    base: { region: base.region },
  });
  // The last resort: an error nothing caught (a socket's 'error' with no listener) is logged,
  // and the process goes on serving its other connections rather than dropping them all.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'Unhandled promise rejection'));
  let serving = false;
  process.on('uncaughtException', (err) => {
    if (!serving) {
      logger.fatal({ err }, 'Uncaught exception while starting');
      process.exit(1);
    }
    logger.error({ err }, 'Uncaught exception; the process goes on serving');
  });
  const metrics = createMetricsRegistry({
    service: options.service,
    defaultLabels: { region: base.region },
  });
  try {
    const { buildApp } = await options.app();
    const { runService } = await import('./run-service.js');
    const app = await buildApp(config, { logger, metrics });
    app.server.once('listening', () => (serving = true));
    // Every service with a cache reports its health on the region's status board.
    if (!app.status.attached && app.hasDecorator('cache'))
      app.status.attach((app as unknown as { cache: Cache }).cache, { region: base.region });
    return await runService(app, {
      host: base.host,
      port: base.port,
      shutdownDeadlineMs: base.shutdownDeadlineMs,
    });
  } catch (err) {
    // A setting found wrong while building (one that depends on another) reads as loadConfig's do.
    if (isConfigError(err)) process.stderr.write(`${options.service}: ${err.message}\n`);
    else logger.fatal({ err }, 'Service failed to start');
    return 1;
  } finally {
    await telemetry.shutdown().catch(() => undefined);
  }
}
