import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheContract } from '@parley/port-contracts';
import {
  eventually,
  freePort,
  makeTestCa,
  startRedisServer,
  type RedisServer,
  type TestCa,
} from '@parley/testing';
import { RedisCache, createRedis } from '../src/index.js';

const run = promisify(execFile);

/**
 * The cache contract over `rediss://` with a private CA (managed Redis with
 * TLS), through Redis Sentinel (the master found by asking sentinels), and
 * on a three-node Redis Cluster, on servers of the test's own.
 */
let ca: TestCa;
let tlsServer: RedisServer;
let master: RedisServer;
let sentinel: ChildProcess;
let sentinelPort: number;
let clusterNodes: RedisServer[] = [];

beforeAll(async () => {
  ca = await makeTestCa();
  [tlsServer, master] = await Promise.all([startRedisServer({ tls: ca }), startRedisServer()]);
  // Three masters, no replicas: the slots spread over them (redis-cli --cluster create).
  clusterNodes = await Promise.all(
    [0, 1, 2].map(() => startRedisServer({ args: ['--cluster-enabled', 'yes'] })),
  );
  await run('redis-cli', [
    '--cluster',
    'create',
    ...clusterNodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  await eventually(
    async () => {
      const { stdout } = await run('redis-cli', [
        '-p',
        String(clusterNodes[0]!.port),
        'cluster',
        'info',
      ]);
      return stdout.includes('cluster_state:ok') ? true : undefined;
    },
    { timeoutMs: 20_000, what: 'the Redis Cluster to serve every slot' },
  );
  sentinelPort = await freePort();
  const conf = join(ca.dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${ca.dir}`,
      `sentinel monitor parley 127.0.0.1 ${master.port} 1`,
      'sentinel down-after-milliseconds parley 5000',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await eventually(
    async () => {
      const probe = createRedis({ url: 'redis://x', sentinels: [`127.0.0.1:${sentinelPort}`] });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      } finally {
        probe.disconnect();
      }
    },
    { timeoutMs: 20_000, what: 'redis sentinel to know its master' },
  );
}, 60_000);
afterAll(async () => {
  if (sentinel && sentinel.exitCode === null) {
    const exited = once(sentinel, 'exit');
    sentinel.kill('SIGKILL');
    await exited;
  }
  await Promise.all([
    tlsServer?.destroy(),
    master?.destroy(),
    ...clusterNodes.map((n) => n.destroy()),
  ]);
  await ca?.destroy();
});

cacheContract('Redis over TLS with a private CA', async () => {
  const redis = createRedis({ url: tlsServer.url, caFile: ca.caFile });
  await redis.connect();
  return new RedisCache(redis);
});

cacheContract('Redis through Sentinel', async () => {
  const redis = createRedis({ url: 'redis://ignored', sentinels: [`127.0.0.1:${sentinelPort}`] });
  await redis.connect();
  return new RedisCache(redis);
});

cacheContract('Redis Cluster', async () => {
  const redis = createRedis({
    url: 'redis://ignored',
    clusterNodes: [`127.0.0.1:${clusterNodes[0]!.port}`],
  });
  await redis.connect();
  return new RedisCache(redis);
});

describe('rediss:// without the private CA', () => {
  it('refuses the server’s certificate, and a CA file that is not one stops the start', async () => {
    const untrusting = createRedis({ url: tlsServer.url, connectTimeoutMs: 2_000 });
    untrusting.on('error', () => undefined);
    await expect(untrusting.connect()).rejects.toThrow();
    untrusting.disconnect();
    expect(() => createRedis({ url: tlsServer.url, caFile: ca.keyFile })).toThrow(
      /PARLEY_REDIS_CA_FILE/,
    );
  });
});
