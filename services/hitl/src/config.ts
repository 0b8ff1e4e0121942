import {
  env,
  serviceFields,
  postgresFields,
  redisFields,
  kafkaFields,
  type ConfigOf,
} from '@parley/config';

/** Every environment variable the hitl service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8083 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
};

export type Config = ConfigOf<typeof configSpec>;
