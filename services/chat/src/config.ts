import {
  env,
  serviceFields,
  postgresFields,
  redisFields,
  kafkaFields,
  type ConfigOf,
} from '@parley/config';

/** Chat's own settings (also read by the one-process platform). */
export const chatFields = {
  /** Earlier turns sent with each reply request. */
  historyTurns: env.int('CHAT_HISTORY_TURNS', { default: 10, min: 0, max: 50 }),
  /**
   * After a Postgres promotion, how long to wait before asking again for the
   * replies still missing (their requests may have been lost with another
   * region's Kafka); 0 turns it off.
   */
  recoverAfterPromotionMs: env.int('CHAT_RECOVER_AFTER_PROMOTION_MS', {
    default: 15_000,
    min: 0,
    max: 600_000,
  }),
};

export type ChatSettings = ConfigOf<typeof chatFields>;

/** Every environment variable the chat service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8081 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  ...chatFields,
  consumerGroup: env.string('CHAT_CONSUMER_GROUP', { default: 'chat' }),
};

export type Config = ConfigOf<typeof configSpec>;
