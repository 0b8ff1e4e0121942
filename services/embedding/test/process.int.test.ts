import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'embedding',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['postgres', 'redis', 'kafka', 'consumer:embedding'],
  metrics: ['knowledge_chunks_ingested_total'],
});
