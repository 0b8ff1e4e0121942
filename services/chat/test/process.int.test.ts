import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'chat',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['postgres', 'redis', 'kafka'],
});
