import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '@parley/embedded';
import type { Cache } from '@parley/ports';
import { SessionCache, type SessionState } from './session-cache.js';

const state = (lastSeq: number): SessionState => ({
  status: 'open',
  handler: 'bot',
  handoff: 'none',
  lastSeq,
  visitorId: 'v',
  channel: 'web',
  position: '0',
});

describe('SessionCache', () => {
  it('writes through to the shared level, where another process reads it', async () => {
    const store = new MemoryCacheStore();
    await new SessionCache(store.client()).put('t', 'c', state(3));
    expect(await new SessionCache(store.client()).get('t', 'c')).toEqual(state(3));
  });

  it('serves from its in-process level without asking the shared one', async () => {
    const store = new MemoryCacheStore();
    const shared = store.client();
    const sessions = new SessionCache(shared);
    await sessions.put('t', 'c', state(1));
    await shared.delete('parley:state:t:c');
    expect(await sessions.get('t', 'c')).toEqual(state(1));
    expect(await new SessionCache(shared, { l1TtlMs: 0 }).get('t', 'c')).toBeNull();
  });

  it('keeps tenant acme:eu apart from tenant acme with conversation eu:<id>', async () => {
    const store = new MemoryCacheStore();
    await new SessionCache(store.client()).put('acme:eu', 'c1', {
      ...state(7),
      visitorId: 'eu-visitor',
    });
    const other = new SessionCache(store.client());
    expect(await other.get('acme', 'eu:c1')).toBeNull();
    expect((await other.get('acme:eu', 'c1'))?.visitorId).toBe('eu-visitor');
  });

  it('never moves a conversation back to an older state', async () => {
    const sessions = new SessionCache(new MemoryCacheStore().client());
    await sessions.put('t', 'c', state(5));
    await sessions.put('t', 'c', state(4));
    expect((await sessions.get('t', 'c'))?.lastSeq).toBe(5);
  });

  it('treats a broken or corrupt shared level as a miss', async () => {
    const broken = { get: () => Promise.reject(new Error('down')) } as unknown as Cache;
    expect(await new SessionCache(broken, { l1TtlMs: 0 }).get('t', 'c')).toBeNull();
    const store = new MemoryCacheStore();
    await store.client().set('parley:state:t:c', '{not json', 60_000);
    expect(await new SessionCache(store.client()).get('t', 'c')).toBeNull();
  });
});
