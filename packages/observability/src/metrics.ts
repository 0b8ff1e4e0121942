import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Options for {@link createMetricsRegistry}. */
export interface MetricsConfig {
  service: string;
  /** Labels added to every series (region, for one Prometheus across regions). */
  defaultLabels?: Record<string, string>;
  /** Collect Node's process metrics (heap, event-loop lag, GC). @default true */
  processMetrics?: boolean;
}

/** A prom-client registry with the process metrics and the service's default labels. */
export function createMetricsRegistry(config: MetricsConfig): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: config.service, ...config.defaultLabels });
  if (config.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Binds either bus's delivery metrics (`DeliveryMetrics` of `@parley/ports`)
 * to Prometheus series: `kafka_messages_handled_total` and
 * `kafka_handle_duration_seconds`. The in-process bus reports the same
 * series as Kafka's consumers, so one dashboard reads both modes.
 */
export function deliveryMetrics(registry: Registry) {
  const handled = new Counter({
    name: 'kafka_messages_handled_total',
    help: 'Messages handled by outcome: ok, skipped, dead_lettered, retried.',
    labelNames: ['group', 'topic', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kafka_handle_duration_seconds',
    help: 'Time to handle one message, including retries.',
    labelNames: ['group', 'topic'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  return {
    handled(group: string, topic: string, outcome: string, durationMs: number): void {
      handled.inc({ group, topic, outcome });
      duration.observe({ group, topic }, durationMs / 1000);
    },
  };
}

/**
 * Binds the Kafka consumer's metrics (see `@parley/kafka`'s
 * `ConsumerMetrics`) to Prometheus series: `kafka_consumer_lag` and the
 * {@link deliveryMetrics}.
 */
export function kafkaConsumerMetrics(registry: Registry) {
  const lag = new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages not yet handled on the partitions this member holds (high watermark minus committed offset).',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [registry],
  });
  return {
    ...deliveryMetrics(registry),
    lag(group: string, topic: string, partition: number, value: number): void {
      lag.set({ group, topic, partition: String(partition) }, value);
    },
    /** The partition moved to another member (or the consumer stopped): its series goes. */
    released(group: string, topic: string, partition: number): void {
      lag.remove({ group, topic, partition: String(partition) });
    },
  };
}

const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * Binds `@parley/resilience`'s `ResilienceSink` to Prometheus series:
 * `circuit_breaker_state` (0 closed, 1 half-open, 2 open),
 * `circuit_breaker_transitions_total`, `resilience_retries_total` and
 * `resilience_rejections_total`, each by dependency.
 */
export function resilienceMetrics(registry: Registry) {
  const registers = [registry];
  const state = new Gauge({
    name: 'circuit_breaker_state',
    help: 'Breaker state per dependency: 0 closed, 1 half-open, 2 open.',
    labelNames: ['dependency'] as const,
    registers,
  });
  const transitions = new Counter({
    name: 'circuit_breaker_transitions_total',
    help: 'Breaker transitions per dependency and new state.',
    labelNames: ['dependency', 'state'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'resilience_retries_total',
    help: 'Retries of calls to a dependency.',
    labelNames: ['dependency'] as const,
    registers,
  });
  const rejections = new Counter({
    name: 'resilience_rejections_total',
    help: 'Calls refused without running: circuit_open or bulkhead_full.',
    labelNames: ['dependency', 'reason'] as const,
    registers,
  });
  return {
    stateChanged(dependency: string, next: keyof typeof BREAKER_STATE_VALUE): void {
      state.set({ dependency }, BREAKER_STATE_VALUE[next]);
      transitions.inc({ dependency, state: next });
    },
    retried(dependency: string): void {
      retries.inc({ dependency });
    },
    rejected(dependency: string, reason: string): void {
      rejections.inc({ dependency, reason });
    },
  };
}

export type { Registry } from 'prom-client';
