import { Writable } from 'node:stream';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '../src/index.js';

/** Builds an app with a captured log, as the services' tests do. */
export function build() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ service: 'kit-test', destination });
  const app = createApp({
    service: 'kit-test',
    logger,
    metrics: createMetricsRegistry({ service: 'kit-test' }),
  });
  return { app, logs: lines };
}
