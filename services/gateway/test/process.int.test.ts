import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'gateway',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  upgradePaths: ['/v1/widget/ws'],
  checks: ['postgres', 'redis', 'kafka'],
});
