import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'ai',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['redis', 'kafka', 'degradation'],
  // Degraded is still ready: the level is a detail of /readyz and a metric.
  details: { degradation: { level: 'L0', reasons: [] } },
  metrics: ['ai_degradation_level'],
});
