import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'ai',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['redis', 'kafka'],
});
