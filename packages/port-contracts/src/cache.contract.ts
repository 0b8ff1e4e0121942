import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually } from '@parley/testing';
import type { Cache } from '@parley/ports';

/** Opens a cache; two calls reach the same backend, like two pods. */
export type CacheFactory = () => Promise<Cache>;

/** The behaviour every {@link Cache} adapter must have (real clocks, short bounded waits). */
export function cacheContract(name: string, factory: CacheFactory): void {
  describe(`Cache contract: ${name}`, () => {
    let cache: Cache;
    let other: Cache;
    const key = (what: string) => `contract:${randomUUID()}:${what}`;
    beforeAll(async () => {
      [cache, other] = [await factory(), await factory()];
    });
    afterAll(async () => {
      await cache.close();
      await other.close();
    });

    it('stores values until their time to live passes', async () => {
      const k = key('ttl');
      await cache.set(k, 'v', 150);
      expect(await other.get(k)).toBe('v');
      await sleep(250);
      expect(await cache.get(k)).toBeNull();
    });

    it('sets only absent keys with setIfAbsent, and deletes', async () => {
      const k = key('nx');
      expect(await cache.setIfAbsent(k, 'first', 10_000)).toBe(true);
      expect(await other.setIfAbsent(k, 'second', 10_000)).toBe(false);
      expect(await cache.get(k)).toBe('first');
      await cache.delete(k);
      expect(await cache.get(k)).toBeNull();
    });

    it('increments counters atomically, expiring them from creation', async () => {
      const k = key('counter');
      const totals = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? other : cache).increment(k, 5, 200)),
      );
      expect(Math.max(...totals)).toBe(50);
      expect(new Set(totals).size).toBe(10);
      await sleep(300);
      expect(await cache.increment(k, 1, 10_000)).toBe(1);
    });

    it('lets exactly one of many concurrent setIfAbsent calls win', async () => {
      const k = key('race');
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : cache).setIfAbsent(k, `v${i}`, 10_000),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('refuses tokens beyond the bucket and says when to retry, then refills', async () => {
      const k = key('bucket');
      const bucket = { capacity: 3, refillPerSecond: 10 };
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => (i % 2 ? other : cache).takeTokens(k, bucket)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(3);
      const refused = results.find((r) => !r.allowed)!;
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(100);
      await sleep(150);
      expect((await cache.takeTokens(k, bucket)).allowed).toBe(true);
    });

    it('refuses a cost larger than the capacity without taking anything', async () => {
      const k = key('big');
      const r = await cache.takeTokens(k, { capacity: 2, refillPerSecond: 1 }, 3);
      expect(r.allowed).toBe(false);
      expect((await cache.takeTokens(k, { capacity: 2, refillPerSecond: 1 }, 2)).allowed).toBe(
        true,
      );
    });

    it('holds at most `limit` slots, refreshes a holder, frees released and expired slots', async () => {
      const k = key('slots');
      expect(await cache.acquireSlot(k, 'a', 2, 200)).toBe(true);
      expect(await other.acquireSlot(k, 'b', 2, 10_000)).toBe(true);
      expect(await cache.acquireSlot(k, 'c', 2, 10_000)).toBe(false);
      expect(await cache.acquireSlot(k, 'a', 2, 200)).toBe(true);
      await other.releaseSlot(k, 'b');
      expect(await cache.acquireSlot(k, 'c', 2, 10_000)).toBe(true);
      expect(await cache.acquireSlot(k, 'd', 2, 10_000)).toBe(false);
      await sleep(300);
      expect(await cache.acquireSlot(k, 'd', 2, 10_000)).toBe(true);
    });

    it('delivers published messages in order to every subscriber until it unsubscribes', async () => {
      const channel = key('channel');
      const [a, b] = [[] as string[], [] as string[]];
      const stopA = await cache.subscribe(channel, (m) => a.push(m));
      const stopB = await other.subscribe(channel, (m) => b.push(m));
      for (let i = 0; i < 20; i++) await other.publish(channel, `m${i}`);
      const all = Array.from({ length: 20 }, (_, i) => `m${i}`);
      await expectEventually(() => {
        expect(a).toEqual(all);
        expect(b).toEqual(all);
      });
      await stopA();
      await cache.publish(channel, 'after');
      await expectEventually(() => expect(b.at(-1)).toBe('after'));
      expect(a).toHaveLength(20);
      await stopB();
    });

    it('serves many subscriptions made at once by a fresh client', async () => {
      const fresh = await factory();
      try {
        const channels = Array.from({ length: 50 }, (_, i) => key(`burst-${i}`));
        const got = new Map<string, string[]>();
        const stops = await Promise.all(
          channels.map((c) => fresh.subscribe(c, (m) => got.set(c, [...(got.get(c) ?? []), m]))),
        );
        await Promise.all(channels.map((c) => cache.publish(c, `to ${c}`)));
        await expectEventually(() => {
          for (const c of channels) expect(got.get(c)).toEqual([`to ${c}`]);
        });
        await Promise.all(stops.map((stop) => stop()));
      } finally {
        await fresh.close();
      }
    });

    it('answers its readiness check', async () => {
      await expect(cache.check()).resolves.toBeTypeOf('object');
    });
  });
}
