import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'gateway',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['postgres', 'redis', 'kafka'],
});
