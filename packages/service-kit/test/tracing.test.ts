import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { startTelemetry } from '@parley/observability';

describe('tracing over HTTP', () => {
  it('continues the W3C trace context of an incoming request', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({
      serviceName: 'kit-test',
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    // Loaded after the SDK started so that node:http is instrumented, as main.ts does.
    const { build } = await import('./build.js');
    const { app } = build();
    app.get('/traced', async () => 'ok');
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parentId = '00f067aa0ba902b7';
      const res = await fetch(`${address}/traced`, {
        headers: { traceparent: `00-${traceId}-${parentId}-01` },
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
      const server = exporter.getFinishedSpans().find((s) => s.kind === 1 /* SERVER */);
      expect(server?.spanContext().traceId).toBe(traceId);
      expect(server?.parentSpanContext?.spanId).toBe(parentId);
    } finally {
      await app.close();
      await telemetry.shutdown();
    }
  });
});
