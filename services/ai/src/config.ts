import { env, serviceFields, redisFields, kafkaFields, type ConfigOf } from '@parley/config';

/** Every environment variable the ai service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8082 }),
  ...redisFields,
  ...kafkaFields,
  consumerGroup: env.string('AI_CONSUMER_GROUP', { default: 'ai' }),
};

export type Config = ConfigOf<typeof configSpec>;
