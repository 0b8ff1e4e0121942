import {
  env,
  serviceFields,
  postgresFields,
  redisFields,
  kafkaFields,
  type ConfigOf,
} from '@parley/config';

/** Every environment variable the chat service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8081 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  historyTurns: env.int('CHAT_HISTORY_TURNS', { default: 10, min: 0, max: 50 }),
  consumerGroup: env.string('CHAT_CONSUMER_GROUP', { default: 'chat' }),
};

export type Config = ConfigOf<typeof configSpec>;
