/**
 * The public status page (`/status`, `/status.json`), the operators'
 * incident and probe API (`/admin/*`) and the probe's metrics, as one
 * module: the gateway mounts {@link statusPageModule} with its settings
 * ({@link statusPageFields}, spread into its own) and its per-IP limiter.
 */
export { statusPageModule, type StatusPageModuleOptions } from './module.js';
export { statusPageFields, DEFAULT_STATUS_COMPONENTS, type StatusPageSettings } from './config.js';
export type { RequestLimiter } from './routes/status.route.js';
export type { StatusPageErrorCode } from './errors.js';
