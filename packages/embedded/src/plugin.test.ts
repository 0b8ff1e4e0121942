import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { context, propagation, trace } from '@opentelemetry/api';
import { EventRegistry, messageReceivedV1 } from '@parley/contracts';
import { createLogger, createMetricsRegistry, startTelemetry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually } from '@parley/testing';
import { embeddedPorts } from './plugin.js';

/**
 * The embedded ports deliver the way the distributed mode's Kafka consumers
 * do: the same interceptors (a consumer span continuing the publisher's
 * trace) and the same delivery series on the app's metrics.
 */
const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({
  serviceName: 'embedded-test',
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
const registry = new EventRegistry([messageReceivedV1]);
let app: FastifyInstance;

beforeAll(async () => {
  app = createApp({
    service: 'embedded',
    logger: createLogger({ service: 'embedded', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'embedded', processMetrics: false }),
  });
  await app.register(embeddedPorts, {});
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await telemetry.shutdown();
});

describe('embeddedPorts', () => {
  it('traces each handler call under the publisher’s trace and counts it on /metrics', async () => {
    const seen: Array<string | undefined> = [];
    const subscription = app.ports.bus.subscribe({
      groupId: 'traced',
      registry,
      handler: async () => {
        seen.push(trace.getSpan(context.active())?.spanContext().traceId);
      },
    });
    await subscription.start();
    const traceId = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      await app.ports.bus.publish(
        registry.create(messageReceivedV1, {
          conversationId: 'c-traced',
          tenantId: 'acme',
          trace: carrier,
          payload: {
            message_id: 'm1',
            client_message_id: 'cm1',
            visitor_id: 'v1',
            channel: 'web',
            text: 'hello',
          },
        }),
      );
      span.end();
      return span.spanContext().traceId;
    });
    await expectEventually(() => expect(seen).toEqual([traceId]));
    await subscription.stop();
    expect(
      exporter
        .getFinishedSpans()
        .some(
          (s) => s.name === 'conversation-events process' && s.spanContext().traceId === traceId,
        ),
    ).toBe(true);
    const metrics = await app.metrics.metrics();
    expect(metrics).toMatch(
      /^kafka_messages_handled_total\{group="traced",topic="conversation-events",outcome="ok",service="embedded"\} 1$/m,
    );
  });
});
