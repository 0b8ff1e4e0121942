/**
 * The whole platform in one process on embedded adapters.
 *
 * ```ts
 * import { buildApp, configSpec } from '@parley/standalone';
 * const app = await buildApp(loadConfig(configSpec, env), { logger, metrics });
 * await app.listen({ port: 8080 });
 * ```
 */
export { buildApp, DEMO_WIDGET_KEY, DEMO_AGENT } from './platform.js';
export { configSpec, type Config } from './config.js';
