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
};

export type Config = ConfigOf<typeof configSpec>;
