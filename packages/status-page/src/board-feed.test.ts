import { describe, expect, it } from 'vitest';
import type { Cache } from '@parley/ports';
import { HealthMonitor, Readiness, StatusPublisher, statusChannel } from '@parley/service-kit';
import { createLogger } from '@parley/observability';
import { StatusBoard } from './domain/status-board.js';
import { BoardFeed, parseReport } from './board-feed.js';

/** A cache with pub/sub and get/set in memory that can be made unreachable. */
function fakeCache() {
  const listeners = new Map<string, Array<(m: string) => void>>();
  const values = new Map<string, string>();
  const state = { down: false };
  const guard = () => {
    if (state.down) throw new Error('connect ECONNREFUSED');
  };
  const cache = {
    publish: async (channel: string, message: string) => {
      guard();
      for (const l of listeners.get(channel) ?? []) l(message);
    },
    subscribe: async (channel: string, listener: (m: string) => void) => {
      guard();
      listeners.set(channel, [...(listeners.get(channel) ?? []), listener]);
      return async () => undefined;
    },
    get: async (key: string) => (guard(), values.get(key) ?? null),
    set: async (key: string, value: string) => {
      guard();
      values.set(key, value);
    },
  } as unknown as Cache;
  return { cache, state, values };
}

const remote = (service: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 1,
    service,
    instance: `${service}-0`,
    components: [service],
    state: 'healthy',
    at: new Date().toISOString(),
    ttlMs: 90_000,
    dependencies: { redis: { up: true, critical: true, availability: 1, mttrSeconds: null } },
    ...extra,
  });

describe('BoardFeed', () => {
  it('puts its own reports and the channel’s on the board, drops what is not a report, and is down while publishing fails', async () => {
    const { cache, state, values } = fakeCache();
    const readiness = new Readiness(500);
    readiness.add('redis', async () => undefined);
    const publisher = new StatusPublisher(new HealthMonitor(readiness), 'gateway');
    publisher.attach(cache, { region: 'r1', instance: 'gw-0' });
    const board = new StatusBoard({ components: ['gateway', 'chat'] });
    const feed = new BoardFeed({
      board,
      publisher,
      logger: createLogger({ service: 'test', level: 'silent' }),
      snapshotIntervalMs: 60_000,
    });
    await feed.start();
    const channel = statusChannel('r1');
    await cache.publish(channel, remote('chat'));
    await cache.publish(channel, 'not json');
    await cache.publish(channel, remote('chat', { instance: 'x', v: 2 }));
    await cache.publish(channel, remote('chat', { instance: 'y', ttlMs: 'forever' }));
    await publisher.publish({ force: true });
    expect(
      board
        .snapshot()
        .map((e) => `${e.report.service}/${e.report.instance}`)
        .sort(),
    ).toEqual(['chat/chat-0', 'gateway/gw-0']);
    expect(feed.up).toBe(true);

    state.down = true;
    expect(await publisher.publish({ force: true })).toBe('failed');
    expect(feed.up).toBe(false);
    // Its own entry still arrives: the page keeps this gateway's row live.
    expect(board.view({ feedUp: feed.up }).components[0]).toMatchObject({
      state: 'operational',
      stale: false,
    });
    state.down = false;
    await feed.stop();
    expect(values.size).toBe(0);
  });

  it('parses only well-formed, bounded reports', () => {
    expect(
      parseReport(remote('ai', { degradation: { level: 'L1', reasons: ['slow'] } })),
    ).toMatchObject({
      service: 'ai',
      degradation: { level: 'L1' },
    });
    expect(parseReport(remote('ai', { components: [] }))).toBeUndefined();
    expect(parseReport(remote('ai', { service: '../../etc' }))).toBeDefined();
    expect(parseReport(remote('ai', { service: 'a b' }))).toBeUndefined();
    expect(
      parseReport(`${remote('ai').slice(0, -1)},"pad":"${'x'.repeat(70_000)}"}`),
    ).toBeUndefined();
  });
});
