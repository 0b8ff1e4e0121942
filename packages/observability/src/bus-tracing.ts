import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Interceptor } from '@parley/ports';

const tracer = trace.getTracer('@parley/observability');

/**
 * An interceptor for either bus: each handler call runs in a consumer span
 * (`<topic> process`) whose parent is the trace the event carries in its
 * envelope (`trace.traceparent`, written by the publisher), so a reply's
 * trace continues from the request that caused it.
 */
export function busTracing(system: 'kafka' | 'in-process' = 'kafka'): Interceptor {
  return (event, ctx, next) => {
    const carrier: Record<string, string> = {};
    for (const [key, value] of Object.entries(event.trace)) if (value) carrier[key] = value;
    const parent = propagation.extract(context.active(), carrier);
    return context.with(parent, () =>
      tracer.startActiveSpan(
        `${ctx.topic} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': system,
            'messaging.consumer.group.name': ctx.groupId,
            'messaging.message.id': event.event_id,
          },
        },
        async (span) => {
          try {
            await next();
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw err;
          } finally {
            span.end();
          }
        },
      ),
    );
  };
}
