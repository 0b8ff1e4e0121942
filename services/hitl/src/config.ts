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
  consumerGroup: env.string('HITL_CONSUMER_GROUP', { default: 'hitl' }),
  /** Signs agents' bearer tokens (at least 32 characters; a secret). */
  agentSecret: env.secret('PARLEY_AGENT_SECRET', { minLength: 32 }),
};

export type Config = ConfigOf<typeof configSpec>;
