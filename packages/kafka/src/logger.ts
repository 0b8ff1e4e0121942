import kafkajs, { type logCreator } from 'kafkajs';

/** The slice of a pino-style logger this package writes to. */
export interface KafkaLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const { logLevel } = kafkajs;

/** Routes kafkajs's own log lines into our structured logger. */
export function kafkajsLogCreator(logger: KafkaLogger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      const fields = { component: 'kafkajs', ...rest };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

/** A logger that drops everything, for callers that pass none. */
export const silentLogger: KafkaLogger = { debug() {}, info() {}, warn() {}, error() {} };
