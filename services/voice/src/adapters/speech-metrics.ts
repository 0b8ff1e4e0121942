import { Counter, Histogram, type Registry } from 'prom-client';
import type { SpeechMetrics } from '../domain/failover.js';

/** The speech failover's reports as Prometheus metrics on `registry`. */
export function speechMetrics(registry: Registry): SpeechMetrics {
  const latency = new Histogram({
    name: 'voice_provider_latency_seconds',
    help: 'Speech provider request time, by kind (stt, tts) and provider',
    labelNames: ['kind', 'provider'],
    buckets: [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'voice_provider_errors_total',
    help: 'Failed speech provider requests, by kind and provider',
    labelNames: ['kind', 'provider'],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'voice_provider_failovers_total',
    help: 'Requests that moved on to a standby speech provider',
    labelNames: ['kind'],
    registers: [registry],
  });
  return {
    startTimer: (labels) => latency.startTimer(labels),
    error: (labels) => errors.inc(labels),
    failover: (kind) => failovers.inc({ kind }),
  };
}
