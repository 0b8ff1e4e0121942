import {
  env,
  serviceFields,
  postgresFields,
  redisFields,
  kafkaFields,
  adminFields,
  proxyFields,
  type ConfigOf,
} from '@parley/config';

/** The handoff settings (also read by the one-process platform). */
export const hitlFields = {
  /** Signs agents' bearer tokens (at least 32 characters; a secret). */
  /** The agent tokens' keys, the same in every region: one secret, or `id:secret,...` while rotating. */
  agentSecret: env.signingKeys('PARLEY_AGENT_SECRET'),
  /** An assigned conversation without an agent reply by then goes back to the queue. */
  agentReplyTimeoutMs: env.int('HITL_AGENT_REPLY_TIMEOUT_MS', {
    min: 1_000,
    max: 3_600_000,
    default: 120_000,
  }),
  /** A handoff waiting longer is escalated (priority bump, supervisor event). */
  slaMs: env.int('HITL_SLA_MS', { min: 1_000, max: 86_400_000, default: 300_000 }),
  /** How often those timers are checked. */
  sweepIntervalMs: env.int('HITL_SWEEP_INTERVAL_MS', { min: 200, max: 60_000, default: 5_000 }),
  /** An OpenID Connect provider whose ID tokens sign agents in (with HITL_OIDC_CLIENT_ID); unset: off. */
  oidcIssuer: env.url('HITL_OIDC_ISSUER', { protocols: ['https:', 'http:'], default: '' }),
  /** The console's client id at that provider (the ID tokens' audience). */
  oidcClientId: env.string('HITL_OIDC_CLIENT_ID', { default: '' }),
  /** The provider's key set, when its discovery document should not be used. */
  oidcJwksUrl: env.url('HITL_OIDC_JWKS_URL', { protocols: ['https:', 'http:'], default: '' }),
  /** Agent sign-in attempts per client address before the wait (one more every 30 s). */
  signInBurstPerAddress: env.int('HITL_SIGN_IN_BURST_PER_ADDRESS', {
    min: 1,
    max: 100_000,
    default: 10,
  }),
  /** Password sign-in attempts per account before the wait (one more every minute). */
  signInBurstPerAccount: env.int('HITL_SIGN_IN_BURST_PER_ACCOUNT', {
    min: 1,
    max: 100_000,
    default: 5,
  }),
  ...adminFields,
  ...proxyFields,
};

export type HitlConfig = ConfigOf<typeof hitlFields>;

/** Every environment variable the hitl service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8083 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  consumerGroup: env.string('HITL_CONSUMER_GROUP', { default: 'hitl' }),
  /**
   * Every region's Kafka (`us-east=host:port;eu-west=host:port`): an agent's
   * events go to the conversation's home region (docs/multi-region.md).
   * Empty: one region, everything stays in its Kafka.
   */
  regionKafka: env.regionBrokers('PARLEY_REGION_KAFKA', { default: {} }),
  ...hitlFields,
};

export type Config = ConfigOf<typeof configSpec>;
