import { env, serviceFields, redisFields, kafkaFields, type ConfigOf } from '@parley/config';

/** Every environment variable the gateway service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8080 }),
  ...redisFields,
  ...kafkaFields,
};

export type Config = ConfigOf<typeof configSpec>;
