import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redactError, redactString, redactValue } from './redact.js';

/** Options for {@link createLogger}. */
export interface LoggerConfig {
  /** The service name, logged as `service` on every line. */
  service: string;
  /** @default 'info' */
  level?: LoggerOptions['level'];
  /** Extra fields on every line (region, pod). */
  base?: Record<string, unknown>;
  /** Where lines go. @default standard output */
  destination?: DestinationStream;
}

/**
 * A pino JSON logger whose output never carries secrets or personal data:
 * every logged object and message is passed through {@link redactValue}, and
 * errors under `err` are serialized with scrubbed message, stack and cause.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service, ...config.base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      err: (err: unknown) => (err instanceof Error ? redactError(err) : redactValue(err)),
      error: (err: unknown) => (err instanceof Error ? redactError(err) : redactValue(err)),
      // Fastify logs its request and reply objects under req/res: keep what helps, scrubbed.
      // The client address is personal data and stays out.
      req: (req: { method?: string; url?: string; headers?: Record<string, unknown> }) => ({
        method: req.method,
        url: req.url === undefined ? undefined : redactString(req.url),
        userAgent: req.headers?.['user-agent'],
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactValue(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? redactString(a) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}

export type { Logger } from 'pino';
