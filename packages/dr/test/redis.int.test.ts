import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infraEnv, makeTestCa, startRedisServer } from '@parley/testing';

/**
 * Redis snapshots as an operator takes them: over the replication protocol
 * from the test Redis, stored with a checksum, put back as dump.rdb, and
 * loaded by a scratch redis-server that then holds the same keys.
 */
const exec = promisify(execFile);
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const prefix = `dr-snapshot:${randomUUID()}`;
let dir = '';
let redis: Redis;

const dr = (...args: string[]) =>
  exec(process.execPath, [cli, 'backup', ...args], {
    env: {
      ...process.env,
      PARLEY_BACKUP_DIR: join(dir, 'store'),
      PARLEY_REDIS_URL: infraEnv().redisUrl,
    },
    timeout: 120_000,
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-redis-test-'));
  redis = new Redis(infraEnv().redisUrl);
  for (let i = 0; i < 3; i++) await redis.set(`${prefix}:${i}`, `session ${i}`);
  await redis.hset(`${prefix}:hash`, { lastSeq: '7', visitor: 'v-1' });
});
afterAll(async () => {
  await redis.del(`${prefix}:0`, `${prefix}:1`, `${prefix}:2`, `${prefix}:hash`);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

describe('parley-dr backup redis', () => {
  it('takes a snapshot over the replication protocol that a fresh redis-server loads with the same keys', async () => {
    const taken = await dr('redis');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(/^redis-\d{8}T\d{6}Z \d+ bytes, \d+ keys, kept until /);

    const target = join(dir, 'restore');
    const restored = await dr('redis-restore', '--backup-id', 'latest', '--target', target);
    expect(restored.stdout).toContain(`into ${join(target, 'dump.rdb')}`);
    const server = await startRedisServer({ dir: target });
    const copy = new Redis({ port: server.port, host: '127.0.0.1' });
    try {
      expect(await copy.mget(`${prefix}:0`, `${prefix}:1`, `${prefix}:2`)).toEqual([
        'session 0',
        'session 1',
        'session 2',
      ]);
      expect(await copy.hgetall(`${prefix}:hash`)).toEqual({ lastSeq: '7', visitor: 'v-1' });
    } finally {
      copy.disconnect();
      await server.destroy();
    }
  });

  for (const diskless of [true, false])
    it(`reads a ${diskless ? 'diskless snapshot up to its end mark' : 'disk-based snapshot by its length'} while writes go on`, async () => {
      const source = await startRedisServer({
        dir: join(dir, `source-${diskless}`),
        args: ['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0'],
      });
      const writes = new Redis({ port: source.port, host: '127.0.0.1' });
      let writing = true;
      try {
        for (let i = 0; i < 100; i++) await writes.set(`before:${i}`, 'x'.repeat(100));
        const busy = (async () => {
          for (let i = 0; writing && i < 100_000; i++) await writes.set(`during:${i}`, 'y');
        })();
        const store = join(dir, `store-${diskless}`);
        const env = {
          ...process.env,
          PARLEY_BACKUP_DIR: store,
          PARLEY_REDIS_URL: `redis://127.0.0.1:${source.port}`,
        };
        const taken = await exec(process.execPath, [cli, 'backup', 'redis'], {
          env,
          timeout: 60_000,
        });
        expect(Number(/ (\d+) keys/.exec(taken.stdout)?.[1])).toBeGreaterThanOrEqual(100);
        writing = false;
        await busy;
        const target = join(dir, `restored-${diskless}`);
        await exec(process.execPath, [cli, 'backup', 'redis-restore', '--target', target], { env });
        const copy = await startRedisServer({ dir: target });
        try {
          const client = new Redis({ port: copy.port, host: '127.0.0.1' });
          expect(await client.exists(...Array.from({ length: 100 }, (_, i) => `before:${i}`))).toBe(
            100,
          );
          client.disconnect();
        } finally {
          await copy.destroy();
        }
      } finally {
        writing = false;
        writes.disconnect();
        await source.destroy();
      }
    });

  it('refuses a snapshot that does not match its checksum, and an unknown id', async () => {
    const [id] = await readdir(join(dir, 'store', 'redis'));
    await appendFile(join(dir, 'store', 'redis', id!, 'dump.rdb'), 'tampered');
    const tampered = await dr('redis-restore', '--backup-id', id!, '--target', join(dir, 'again'));
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('does not match its checksum');
    const unknown = await dr(
      'redis-restore',
      '--backup-id',
      'redis-nope',
      '--target',
      join(dir, 'again'),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no Redis snapshot redis-nope');
  });

  it('takes a snapshot over TLS (rediss://) trusting a private CA, and refuses a server it cannot verify', async () => {
    const ca = await makeTestCa();
    const source = await startRedisServer({ tls: ca });
    const writes = new Redis({ port: source.port, host: '127.0.0.1', tls: { ca: ca.ca } });
    try {
      await writes.set('over-tls', 'kept');
      const env = {
        ...process.env,
        PARLEY_BACKUP_DIR: join(dir, 'store-tls'),
        PARLEY_REDIS_URL: source.url,
      };
      const refused = await exec(process.execPath, [cli, 'backup', 'redis'], {
        env,
        timeout: 60_000,
      }).catch((err: { code: number; stderr: string }) => err);
      expect(refused).toMatchObject({ code: 1 });
      expect((refused as { stderr: string }).stderr).toMatch(
        /cannot reach Redis at 127\.0\.0\.1:\d+: .*certificate/,
      );

      const taken = await exec(process.execPath, [cli, 'backup', 'redis'], {
        env: { ...env, PARLEY_REDIS_CA_FILE: ca.caFile },
        timeout: 60_000,
      });
      expect(taken.stdout).toMatch(/ 1 keys, kept until /);
      const target = join(dir, 'restored-tls');
      await exec(process.execPath, [cli, 'backup', 'redis-restore', '--target', target], { env });
      const copy = await startRedisServer({ dir: target });
      const client = new Redis({ port: copy.port, host: '127.0.0.1' });
      try {
        expect(await client.get('over-tls')).toBe('kept');
      } finally {
        client.disconnect();
        await copy.destroy();
      }
    } finally {
      writes.disconnect();
      await source.destroy();
      await ca.destroy();
    }
  });
});
