import { describe, expect, it } from 'vitest';
import type { Incident } from './domain/incidents.js';
import { CachedIncidents } from './incident-store.js';

const incident = (id: string): Incident => ({
  id,
  title: id,
  status: 'investigating',
  components: [],
  createdAt: '2026-11-26T09:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
  resolvedAt: null,
  updates: [],
});

describe('CachedIncidents', () => {
  it('reads at most once per TTL, and serves the last copy marked stale while the database fails or hangs', async () => {
    let now = 0;
    let reads = 0;
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const errors: unknown[] = [];
    const cached = new CachedIncidents(
      {
        recent: async () => {
          reads++;
          if (mode === 'fail') throw new Error('connect ECONNREFUSED');
          if (mode === 'hang') return new Promise<Incident[]>(() => undefined);
          return [incident(`read-${reads}`)];
        },
      },
      { ttlMs: 5_000, readTimeoutMs: 20, now: () => now, onError: (err) => errors.push(err) },
    );
    expect(await cached.current()).toEqual({ incidents: [incident('read-1')], stale: false });
    now += 1_000;
    expect((await cached.current()).incidents[0]!.id).toBe('read-1');
    expect(reads).toBe(1);

    mode = 'fail';
    now += 5_000;
    expect(await cached.current()).toEqual({ incidents: [incident('read-1')], stale: true });
    // After a failure the database is left alone for a TTL.
    now += 1_000;
    expect(await cached.current()).toEqual({ incidents: [incident('read-1')], stale: true });
    expect(reads).toBe(2);

    mode = 'hang';
    now += 5_000;
    expect(await cached.current()).toEqual({ incidents: [incident('read-1')], stale: true });
    expect(errors).toHaveLength(2);

    mode = 'ok';
    cached.invalidate();
    expect(await cached.current()).toEqual({ incidents: [incident('read-4')], stale: false });
  });
});
