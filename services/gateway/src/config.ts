import {
  env,
  serviceFields,
  postgresFields,
  redisFields,
  kafkaFields,
  proxyFields,
  type ConfigOf,
} from '@parley/config';
import { statusPageFields } from '@parley/status-page';

export { DEFAULT_STATUS_COMPONENTS } from '@parley/status-page';

/** The gateway's own settings, shared by the service and the embedded mode. */
export const gatewayFields = {
  /** The widget tokens' keys, the same in every region: one secret, or `id:secret,...` while rotating. */
  sessionSecret: env.signingKeys('PARLEY_SESSION_SECRET'),
  sessionTtlSeconds: env.int('SESSION_TTL_SECONDS', { min: 30, max: 86_400, default: 900 }),
  visitorTtlDays: env.int('VISITOR_TTL_DAYS', { min: 1, max: 400, default: 30 }),
  maxPayloadBytes: env.int('WS_MAX_PAYLOAD_BYTES', { min: 256, max: 1_048_576, default: 16_384 }),
  heartbeatIntervalMs: env.int('WS_HEARTBEAT_INTERVAL_MS', {
    min: 1_000,
    max: 120_000,
    default: 15_000,
  }),
  maxConnectionsPerVisitor: env.int('WS_MAX_CONNECTIONS_PER_VISITOR', {
    min: 1,
    max: 100,
    default: 5,
  }),
  ipBurst: env.int('RATE_LIMIT_IP_BURST', { min: 1, max: 100_000, default: 30 }),
  ipPerSecond: env.int('RATE_LIMIT_IP_PER_SECOND', { min: 1, max: 100_000, default: 2 }),
  tenantBurst: env.int('RATE_LIMIT_TENANT_BURST', { min: 1, max: 1_000_000, default: 1_000 }),
  tenantPerSecond: env.int('RATE_LIMIT_TENANT_PER_SECOND', {
    min: 1,
    max: 1_000_000,
    default: 200,
  }),
  connectionBurst: env.int('RATE_LIMIT_CONNECTION_BURST', { min: 1, max: 10_000, default: 20 }),
  connectionPerSecond: env.int('RATE_LIMIT_CONNECTION_PER_SECOND', {
    min: 1,
    max: 10_000,
    default: 2,
  }),
  ...proxyFields,
  /** Open widget sockets this pod holds at most; past it upgrades get 503 and retry. */
  maxConnections: env.int('WS_MAX_CONNECTIONS', { min: 1, max: 1_000_000, default: 20_000 }),
  /** Open widget sockets this pod holds for one client address at most. */
  maxConnectionsPerIp: env.int('WS_MAX_CONNECTIONS_PER_IP', {
    min: 1,
    max: 1_000_000,
    default: 200,
  }),
  /** The status page's: the operators' token for /admin/*, the components listed, the refresh. */
  ...statusPageFields,
};

/** Every environment variable the gateway service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8080 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  ...gatewayFields,
};

export type Config = ConfigOf<typeof configSpec>;

/** The settings the gateway module takes. */
export type GatewaySettings = ConfigOf<typeof gatewayFields>;
