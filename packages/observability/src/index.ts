/**
 * Logs, metrics and traces for every Parley service.
 *
 * ```ts
 * import { createLogger, createMetricsRegistry, startTelemetry } from '@parley/observability';
 * const telemetry = startTelemetry({ serviceName: 'chat' }); // before importing fastify
 * const log = createLogger({ service: 'chat' });            // redacts secrets and personal data
 * const registry = createMetricsRegistry({ service: 'chat' });
 * ```
 */
export { createLogger, type LoggerConfig, type Logger } from './logger.js';
export {
  redactString,
  redactValue,
  redactError,
  isSensitiveKey,
  REDACTED,
  MAX_REDACTED_CHARS,
} from './redact.js';
export {
  createMetricsRegistry,
  deliveryMetrics,
  kafkaConsumerMetrics,
  resilienceMetrics,
  type MetricsConfig,
  type Registry,
} from './metrics.js';
export { busTracing } from './bus-tracing.js';
export { startTelemetry, type Telemetry, type TelemetryConfig } from './telemetry.js';
export {
  httpTracingActive,
  startServerSpan,
  endServerSpan,
  type ServerSpan,
} from './http-tracing.js';
