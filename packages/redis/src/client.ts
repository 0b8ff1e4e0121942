import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';

/** One Redis, or a Redis Cluster (every operation Parley makes is on one key, so both serve). */
export type RedisClient = Redis | Cluster;

/** Options for {@link createRedis}. */
export interface RedisOptions {
  url: string;
  /** Time allowed to connect. @default 3000 */
  connectTimeoutMs?: number;
  /** Time allowed for one command before it fails. @default 2000 */
  commandTimeoutMs?: number;
  /** Retries of a command while reconnecting, then it fails instead of queueing forever. @default 2 */
  maxRetriesPerRequest?: number;
  /** A private CA (PEM file) for a `rediss://` server's certificate. */
  caFile?: string;
  /** Redis Sentinel: the sentinels (`host:port`), which name the current master of `sentinelMaster`. */
  sentinels?: string[];
  sentinelMaster?: string;
  /** Redis Cluster: some of its nodes (`host:port`); the client learns the rest and follows the slots. */
  clusterNodes?: string[];
}

const hostPort = (address: string) => {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
};

/**
 * An ioredis client whose every wait is bounded: commands time out, and while
 * Redis is unreachable they fail after a few retries rather than piling up,
 * so callers can degrade (rate limits fail open, caches miss).
 */
export function createRedis(options: RedisOptions): RedisClient {
  const common = {
    connectTimeout: options.connectTimeoutMs ?? 3_000,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    enableOfflineQueue: true,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(times * 200, 2_000),
    // Commands issued in one turn of the event loop go out as one pipeline
    // (a heartbeat's reads and refreshes, a message's rate limits): one write
    // and one read instead of one round trip each.
    enableAutoPipelining: true,
  };
  const url = new URL(options.url);
  const tls =
    url.protocol === 'rediss:'
      ? { ...(options.caFile ? { ca: readCa(options.caFile) } : {}), servername: url.hostname }
      : undefined;
  const credentials = {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
  if (options.clusterNodes?.length) {
    // Cluster has one database (0); the URL gives the credentials and TLS.
    const { connectTimeout, commandTimeout, maxRetriesPerRequest, retryStrategy } = common;
    return new Cluster(options.clusterNodes.map(hostPort), {
      lazyConnect: true,
      enableOfflineQueue: true,
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: {
        connectTimeout,
        commandTimeout,
        maxRetriesPerRequest,
        ...credentials,
        ...(tls ? { tls } : {}),
      },
    });
  }
  if (options.sentinels?.length) {
    // The URL gives the credentials and database; the sentinels give the master's address.
    return new Redis({
      ...common,
      sentinels: options.sentinels.map(hostPort),
      name: options.sentinelMaster ?? 'parley',
      ...credentials,
      db: Number(url.pathname.slice(1) || 0),
      ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  }
  return new Redis(options.url, { ...common, ...(tls ? { tls } : {}) });
}

/** The CA file's PEM; a missing or unreadable file stops the start, naming it. */
function readCa(file: string): string {
  try {
    const pem = readFileSync(file, 'utf8');
    if (pem.includes('BEGIN CERTIFICATE')) return pem;
    throw new Error('no PEM certificate in it');
  } catch (err) {
    throw Object.assign(new Error(`PARLEY_REDIS_CA_FILE: ${file}: ${(err as Error).message}`), {
      code: 'REDIS_ERR_CA_FILE',
    });
  }
}

/** Readiness details: round-trip and the server's role. */
export async function checkRedis(redis: RedisClient): Promise<Record<string, unknown>> {
  // Not connected: down at once. Queued behind the reconnects, the PING would
  // take the command timeout, and a slow /readyz reads as a dead pod to
  // whoever polls it (the kubelet, the AI's dependency checks).
  if (redis.status !== 'ready') throw new Error(`not connected (${redis.status})`);
  const started = performance.now();
  // Connected but silent (a one-way cut): down after 500 ms, not the command timeout.
  const silence = new AbortController();
  const pong = await Promise.race([
    redis.ping(),
    sleep(500, undefined, { signal: silence.signal }).then(() => {
      throw new Error('no PONG within 500 ms');
    }),
  ]).finally(() => silence.abort());
  if (pong !== 'PONG') throw new Error(`unexpected PING reply ${pong}`);
  const role = (await redis.call('ROLE')) as [string, ...unknown[]];
  return { role: role[0], rttMs: Math.round(performance.now() - started) };
}
