import { describe, expect, it } from 'vitest';
import type { Cache } from '@parley/ports';
import {
  HealthMonitor,
  Readiness,
  StatusPublisher,
  statusChannel,
  type StatusReport,
} from '../src/index.js';

/** A cache that records what is published, and fails while `down`. */
function recordingCache() {
  const published: Array<{ channel: string; report: StatusReport }> = [];
  const state = { down: false };
  const cache = {
    publish: async (channel: string, message: string) => {
      if (state.down) throw new Error('connect ECONNREFUSED');
      published.push({ channel, report: JSON.parse(message) as StatusReport });
    },
  } as unknown as Cache;
  return { cache, published, state };
}

describe('StatusPublisher', () => {
  let clock = Date.parse('2026-11-26T10:00:00Z');
  const now = () => clock;
  const up = { postgres: true, llm: true };
  const monitor = () => {
    const r = new Readiness(500);
    r.add('postgres', async () => {
      if (!up.postgres) throw new Error('connect ECONNREFUSED 10.0.0.7:5432');
    });
    r.add(
      'llm',
      async () => {
        if (!up.llm) throw new Error('breaker open');
      },
      { critical: false },
    );
    return new HealthMonitor(r, { intervalMs: 30_000, now });
  };

  it('publishes the summary on the region channel after each check, with a TTL of three intervals', async () => {
    const health = monitor();
    const { cache, published } = recordingCache();
    const publisher = new StatusPublisher(health, 'chat', now);
    publisher.attach(cache, { region: 'eu-west', instance: 'chat-0' });
    await health.check();
    await new Promise((r) => setImmediate(r));
    expect(published).toHaveLength(1);
    expect(published[0]!.channel).toBe(statusChannel('eu-west'));
    expect(published[0]!.report).toMatchObject({
      v: 1,
      service: 'chat',
      instance: 'chat-0',
      components: ['chat'],
      state: 'healthy',
      ttlMs: 90_000,
      dependencies: {
        postgres: { up: true, critical: true, availability: 1, mttrSeconds: null },
        llm: { up: true, critical: false },
      },
    });
    // No error text of a dependency travels on the board.
    up.postgres = false;
    await health.check();
    await new Promise((r) => setImmediate(r));
    expect(JSON.stringify(published.at(-1))).not.toContain('ECONNREFUSED');
    expect(published.at(-1)!.report.state).toBe('critical');
    up.postgres = true;
    publisher.close();
  });

  it('publishes an unchanged summary at most every third of an interval, and a change at once', async () => {
    const health = monitor();
    const { cache, published } = recordingCache();
    const publisher = new StatusPublisher(health, 'ai', now);
    publisher.attach(cache, { region: 'r' });
    expect(await publisher.publish()).toBe('published');
    clock += 1_000;
    expect(await publisher.publish()).toBe('skipped');
    publisher.setDegradation({ level: 'L2', reasons: ['knowledge retrieval is down'] });
    await new Promise((r) => setImmediate(r));
    expect(published.at(-1)!.report.degradation).toEqual({
      level: 'L2',
      reasons: ['knowledge retrieval is down'],
    });
    clock += 10_000;
    expect(await publisher.publish()).toBe('published');
    publisher.close();
  });

  it('keeps reporting to local listeners when the cache is down, saying so', async () => {
    const health = monitor();
    const { cache, state } = recordingCache();
    const publisher = new StatusPublisher(health, 'gateway', now);
    const outcomes: string[] = [];
    publisher.onReport((_report, outcome) => outcomes.push(outcome));
    expect(await publisher.publish()).toBe('local');
    publisher.attach(cache, { region: 'r' });
    state.down = true;
    expect(await publisher.publish()).toBe('failed');
    // A failed publish is retried on the next check, without waiting out the interval.
    state.down = false;
    clock += 1;
    expect(await publisher.publish()).toBe('published');
    expect(outcomes).toEqual(['local', 'failed', 'published']);
    publisher.close();
  });
});
