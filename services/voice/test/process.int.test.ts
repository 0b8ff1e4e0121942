import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'voice',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['redis', 'kafka'],
  // The voice HPA's metric.
  metrics: ['concurrent_calls'],
});
