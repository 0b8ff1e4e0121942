import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryCacheStore } from '@parley/embedded';
import { ResponseCache, normalizePrompt } from './response-cache.js';

const ask = (text: string, tenantId = 't1') => ({ tenantId, text, history: [] });

describe('ResponseCache', () => {
  afterEach(() => vi.useRealTimers());

  it('matches the same question however it is typed, per tenant', async () => {
    const cache = new ResponseCache(new MemoryCacheStore().client());
    expect(await cache.store(ask('When are you open?'), { text: 'Mon-Fri.' })).toBe(true);
    expect(await cache.lookup(ask('  when ARE you   open'))).toEqual({ text: 'Mon-Fri.' });
    expect(await cache.lookup(ask('When are you open?', 't2'))).toBeNull();
    expect(normalizePrompt('Hello   World?!')).toBe('hello world');
  });

  it('stops matching when the knowledge version changes', async () => {
    const store = new MemoryCacheStore();
    await new ResponseCache(store.client(), { knowledgeVersion: '1' }).store(ask('q'), {
      text: 'a',
    });
    expect(
      await new ResponseCache(store.client(), { knowledgeVersion: '2' }).lookup(ask('q')),
    ).toBeNull();
  });

  it('keeps answers for 24 hours', async () => {
    vi.useFakeTimers({ now: 0 });
    const cache = new ResponseCache(new MemoryCacheStore().client());
    await cache.store(ask('q'), { text: 'a' });
    vi.setSystemTime(86_399_000);
    expect(await cache.lookup(ask('q'))).toEqual({ text: 'a' });
    vi.setSystemTime(86_401_000);
    expect(await cache.lookup(ask('q'))).toBeNull();
  });

  it('never stores personal data, nor answers that depend on earlier turns', async () => {
    const cache = new ResponseCache(new MemoryCacheStore().client());
    expect(
      await cache.store(ask('my email is jane.doe@example.com, where is my order?'), { text: 'a' }),
    ).toBe(false);
    expect(
      await cache.store(ask('where is my order?'), { text: 'Call us on +1 415 555 0123.' }),
    ).toBe(false);
    expect(
      await cache.store(
        { tenantId: 't1', text: 'and the price?', history: [{ role: 'user', text: 'x' }] },
        { text: 'a' },
      ),
    ).toBe(false);
    expect(await cache.lookup(ask('where is my order?'))).toBeNull();
  });

  it('keeps no question or answer with an IBAN, a national id, a birth date or a UK phone number', async () => {
    const cache = new ResponseCache(new MemoryCacheStore().client());
    for (const question of [
      'refund to GB82 WEST 1234 5698 7654 32 please',
      'my NI number is AB 12 34 56 C, can you update it?',
      'I am Jane Doe, born on 12/03/1985: is my account active?',
      'can you call me on 07700 900123?',
      'my social security number is 078-05-1120',
    ])
      expect(await cache.store(ask(question), { text: 'Sure.' }), question).toBe(false);
    expect(
      await cache.store(ask('how do I get a refund?'), { text: 'Ring us on 020 7946 0958.' }),
    ).toBe(false);
    expect(await cache.store(ask('how do I get a refund?'), { text: 'Within 14 days.' })).toBe(
      true,
    );
  });
});
