import { env, serviceFields, postgresFields, kafkaFields, type ConfigOf } from '@parley/config';

/** Every environment variable the embedding service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8084 }),
  ...postgresFields,
  ...kafkaFields,
};

export type Config = ConfigOf<typeof configSpec>;
