/**
 * The shape every Parley service shares.
 *
 * ```ts
 * // app.ts
 * const app = createApp({ service: 'chat', logger, metrics });
 * app.readiness.add('redis', async () => { await redis.ping(); });
 * // main.ts
 * process.exit(await runService(app, { host, port, shutdownDeadlineMs }));
 * ```
 */
export { createApp, withErrorPrefix, type AppOptions } from './create-app.js';
export { runService, shutdown, type RunOptions, type ShutdownOutcome } from './run-service.js';
export {
  Readiness,
  type ReadinessCheck,
  type ReadinessReport,
  type CheckResult,
} from './readiness.js';
export {
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthSummary,
  type HealthState,
  type DependencyHealth,
  type HealthSample,
} from './health-monitor.js';
export {
  StatusPublisher,
  statusChannel,
  type StatusReport,
  type StatusAttachOptions,
  type ReportedDependency,
  type ReportedDegradation,
  type ReportOutcome,
} from './status-publisher.js';
export { ServiceError, isServiceError } from './errors.js';
export { PortRegistry, type Ports } from './ports.js';
export { superviseWorker, type Worker, type SuperviseOptions } from './worker.js';
export { requireOperator, type OperatorAuthOptions } from './operator-auth.js';
export { parseInput, type SafeParser } from './parse-input.js';
export { UpgradeRouter, refuseUpgrade, type UpgradeHandler } from './upgrades.js';
export {
  openApi,
  describeRoutes,
  operatorTokenScheme,
  serviceErrorSchema,
  noContent,
  passThroughValidator,
  passThroughSerializer,
  type OpenApiOptions,
  type RouteDescription,
  type RegisteredRoute,
} from './openapi.js';
