import { env } from './fields.js';

/** Variables every service reads: where to listen, how to log, how long to drain. */
export const serviceFields = {
  port: env.port('PORT', { default: 8080 }),
  host: env.string('HOST', { default: '0.0.0.0' }),
  logLevel: env.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  shutdownDeadlineMs: env.int('SHUTDOWN_DEADLINE_MS', {
    min: 1_000,
    max: 600_000,
    default: 25_000,
  }),
  /** This installation's region (`us-east`): the home it records for the conversations it serves. */
  region: env.region('PARLEY_REGION', { default: 'local' }),
};

/** The proxies in front (an ingress, a load balancer), for the client's address. */
export const proxyFields = {
  /** Whether proxies in front append the client to X-Forwarded-For. */
  trustProxy: env.bool('TRUST_PROXY', { default: false }),
  /** How many such proxies there are: the client is the entry this far from the right. */
  trustedProxyHops: env.int('TRUSTED_PROXY_HOPS', { min: 1, max: 10, default: 1 }),
};

/** The proxy hops to trust for the client's address: 0 without TRUST_PROXY. */
export const trustedHops = (config: { trustProxy: boolean; trustedProxyHops: number }): number =>
  config.trustProxy ? config.trustedProxyHops : 0;

/** The operators' admin API (ai and hitl services, and the embedded platform). */
export const adminFields = {
  /** Operators' bearer token for /admin/*; unset turns the admin API off. */
  adminToken: env.secret('PARLEY_ADMIN_TOKEN', { minLength: 24, optional: true, generated: true }),
};

/** Kafka connection variables. */
export const kafkaFields = {
  kafkaBrokers: env.hostPorts('PARLEY_KAFKA_BROKERS'),
  /** The events topic; its dead letters go to `<topic>.dlq`. */
  kafkaTopic: env.string('PARLEY_KAFKA_TOPIC', { default: 'conversation-events' }),
  /** Partitions one consumer handles at once (order is kept within each). */
  kafkaConsumerConcurrency: env.int('PARLEY_KAFKA_CONSUMER_CONCURRENCY', {
    min: 1,
    max: 100,
    default: 8,
  }),
  kafkaTopicPartitions: env.int('PARLEY_KAFKA_TOPIC_PARTITIONS', {
    min: 1,
    max: 1_000,
    default: 24,
  }),
  kafkaReplicationFactor: env.int('PARLEY_KAFKA_REPLICATION_FACTOR', {
    min: 1,
    max: 10,
    default: 1,
  }),
  kafkaMinInsyncReplicas: env.int('PARLEY_KAFKA_MIN_INSYNC_REPLICAS', {
    min: 1,
    max: 10,
    default: 1,
  }),
  /** TLS to the brokers (MSK, Confluent Cloud, Strimzi's TLS listeners). */
  kafkaTls: env.bool('PARLEY_KAFKA_TLS', { default: false }),
  /** A private CA for the brokers' certificates (a PEM file; the system's CAs otherwise). */
  kafkaCaFile: env.string('PARLEY_KAFKA_CA_FILE', { default: '' }),
  /** SASL: `none`, `plain`, `scram-sha-256`, `scram-sha-512` (username and password) or `oauthbearer` (a token file). */
  kafkaSaslMechanism: env.oneOf(
    'PARLEY_KAFKA_SASL_MECHANISM',
    ['none', 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'],
    { default: 'none' },
  ),
  kafkaSaslUsername: env.string('PARLEY_KAFKA_SASL_USERNAME', { default: '' }),
  kafkaSaslPassword: env.secret('PARLEY_KAFKA_SASL_PASSWORD', { minLength: 1, optional: true }),
  /**
   * OAUTHBEARER: a file holding the current token, read again at each
   * refresh (a projected service-account token, or one a sidecar renews:
   * Confluent Cloud, Strimzi OAuth, MSK IAM through its signer).
   */
  kafkaOauthTokenFile: env.string('PARLEY_KAFKA_OAUTH_TOKEN_FILE', { default: '' }),
  /**
   * Create missing topics at start. Off in the Helm chart: the setup job
   * creates them (`node dist/migrate.js`), and pods must not.
   */
  kafkaCreateTopics: env.bool('PARLEY_KAFKA_CREATE_TOPICS', { default: true }),
};

/** Postgres primary and replica variables (URLs carry credentials: secret). */
export const postgresFields = {
  pgPrimaryUrl: env.url('PARLEY_PG_PRIMARY_URL', {
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
  }),
  pgReplicaUrls: env.urlList('PARLEY_PG_REPLICA_URLS', {
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    default: [],
  }),
  pgPoolMax: env.int('PARLEY_PG_POOL_MAX', { min: 1, max: 500, default: 10 }),
  /** Prepared statements (one parse and plan per connection); off behind a pooler that cannot keep them. */
  pgPrepared: env.bool('PARLEY_PG_PREPARED', { default: true }),
};

/** Redis variables. */
export const redisFields = {
  /** `redis://` or `rediss://` (TLS); with sentinels, the password and database only. */
  redisUrl: env.url('PARLEY_REDIS_URL', { protocols: ['redis:', 'rediss:'], secret: true }),
  /** A private CA for `rediss://` (a PEM file; the system's CAs otherwise). */
  redisCaFile: env.string('PARLEY_REDIS_CA_FILE', { default: '' }),
  /** Redis Sentinel: the sentinels' addresses; the master comes from them (PARLEY_REDIS_SENTINEL_MASTER). */
  redisSentinels: env.hostPorts('PARLEY_REDIS_SENTINELS', { default: [] }),
  redisSentinelMaster: env.string('PARLEY_REDIS_SENTINEL_MASTER', { default: 'parley' }),
  /** Redis Cluster: some of its nodes; the URL then gives only the password (and `rediss:` for TLS). */
  redisClusterNodes: env.hostPorts('PARLEY_REDIS_CLUSTER_NODES', { default: [] }),
};
