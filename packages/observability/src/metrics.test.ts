import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, kafkaConsumerMetrics, resilienceMetrics } from './metrics.js';

describe('createMetricsRegistry', () => {
  it('exposes process metrics with the service label', async () => {
    const registry = createMetricsRegistry({
      service: 'chat',
      defaultLabels: { region: 'eu-west' },
    });
    const text = await registry.metrics();
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="chat",region="eu-west"\}/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('records consumer lag and outcomes through the kafka binding', async () => {
    const registry = createMetricsRegistry({ service: 'ai', processMetrics: false });
    const metrics = kafkaConsumerMetrics(registry);
    metrics.lag('ai-processing', 'conversation-events', 3, 17);
    metrics.handled('ai-processing', 'conversation-events', 'ok', 12);
    const text = await registry.metrics();
    expect(text).toContain(
      'kafka_consumer_lag{group="ai-processing",topic="conversation-events",partition="3",service="ai"} 17',
    );
    expect(text).toContain(
      'kafka_messages_handled_total{group="ai-processing",topic="conversation-events",outcome="ok",service="ai"} 1',
    );
  });

  it('drops the lag series of a partition the consumer released', async () => {
    const registry = createMetricsRegistry({ service: 'ai', processMetrics: false });
    const metrics = kafkaConsumerMetrics(registry);
    metrics.lag('ai', 'conversation-events', 3, 17);
    metrics.lag('ai', 'conversation-events', 4, 2);
    metrics.released('ai', 'conversation-events', 3);
    const text = await registry.metrics();
    expect(text).not.toContain('partition="3"');
    expect(text).toContain(
      'kafka_consumer_lag{group="ai",topic="conversation-events",partition="4",service="ai"} 2',
    );
  });

  it('records breaker states, retries and rejections through the resilience binding', async () => {
    const registry = createMetricsRegistry({ service: 'ai', processMetrics: false });
    const sink = resilienceMetrics(registry);
    sink.stateChanged('llm:openai', 'open');
    sink.retried('llm:openai');
    sink.rejected('llm:openai', 'circuit_open');
    const text = await registry.metrics();
    expect(text).toContain('circuit_breaker_state{dependency="llm:openai",service="ai"} 2');
    expect(text).toContain(
      'circuit_breaker_transitions_total{dependency="llm:openai",state="open",service="ai"} 1',
    );
    expect(text).toContain('resilience_retries_total{dependency="llm:openai",service="ai"} 1');
    expect(text).toContain(
      'resilience_rejections_total{dependency="llm:openai",reason="circuit_open",service="ai"} 1',
    );
  });
});
