import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { enableHttpTracing } from './http-tracing.js';

/** Options for {@link startTelemetry}. */
export interface TelemetryConfig {
  serviceName: string;
  serviceVersion?: string;
  region?: string;
  /** OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`). Without it spans are made but not exported. */
  otlpTracesUrl?: string;
  /** Extra processors (tests pass an in-memory exporter here). */
  spanProcessors?: SpanProcessor[];
}

/** A started OpenTelemetry SDK; `shutdown` flushes pending spans. */
export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry NodeSDK with W3C trace-context propagation, and
 * HTTP spans: incoming requests through service-kit's fastify hooks, outgoing
 * `fetch` through undici's diagnostics channels ({@link enableHttpTracing}).
 * Kafka messages carry the context through `@parley/kafka`'s headers.
 *
 * Only when something takes the spans (an OTLP endpoint, or processors a
 * test passes): otherwise nothing starts and the API's no-op tracer makes no
 * span. No OpenTelemetry instrumentation package is loaded: constructing one
 * installs a hook on every `require` call, and kafkajs requires its protocol
 * modules on every request (3 to 7 % of each service's CPU).
 */
export function startTelemetry(config: TelemetryConfig): Telemetry {
  const processors: SpanProcessor[] = [...(config.spanProcessors ?? [])];
  if (config.otlpTracesUrl) {
    processors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.otlpTracesUrl }) }),
    );
  }
  if (processors.length === 0) return { shutdown: async () => undefined };
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': config.serviceVersion ?? '0.0.0',
      'cloud.region': config.region ?? 'local',
    }),
    autoDetectResources: false,
    spanProcessors: processors,
    // Metrics are served by prom-client at /metrics; logs go to stdout through pino.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  const stopHttp = enableHttpTracing();
  return {
    shutdown: async () => {
      stopHttp();
      await sdk.shutdown();
    },
  };
}
