import { context, propagation, trace } from '@opentelemetry/api';

export const tracer = trace.getTracer('@parley/kafka');

/** Writes the active W3C trace context (`traceparent`, `tracestate`) into a carrier. */
export function injectTraceContext(carrier: Record<string, string> = {}): Record<string, string> {
  propagation.inject(context.active(), carrier);
  return carrier;
}
