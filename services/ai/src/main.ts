import { launch } from '@parley/service-kit/launch';
import { configSpec } from './config.js';

process.exit(
  await launch({
    service: 'ai',
    spec: configSpec,
    env: process.env,
    app: () => import('./app.js'),
  }),
);
