import { context, propagation, trace, type Context } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

export const tracer = trace.getTracer('@parley/kafka');

/** Writes the active W3C trace context (`traceparent`, `tracestate`) into a carrier. */
export function injectTraceContext(carrier: Record<string, string> = {}): Record<string, string> {
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Reads the trace context from Kafka headers, falling back to the envelope's copy. */
export function extractTraceContext(
  headers: IHeaders | undefined,
  fallback: Record<string, string | undefined>,
): Context {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(fallback)) if (value) carrier[key] = value;
  for (const [key, value] of Object.entries(headers ?? {})) {
    const text = Array.isArray(value) ? value[0] : value;
    if (text !== undefined) carrier[key] = text.toString();
  }
  return propagation.extract(context.active(), carrier);
}
