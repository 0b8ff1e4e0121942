import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'hitl',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['postgres', 'redis', 'kafka', 'consumer:hitl'],
  metrics: ['hitl_queue_size', 'hitl_queue_oldest_wait_seconds'],
});
