import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '@parley/embedded';
import { IpLimiter } from './ip-limiter.js';

const request = (peer: string, forwardedFor?: string | string[]) =>
  ({
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    socket: { remoteAddress: peer },
  }) as unknown as IncomingMessage;

const limiter = (trustedHops: number, capacity = 2) =>
  new IpLimiter(new MemoryCacheStore().client(), { capacity, refillPerSecond: 0.001 }, trustedHops);

describe('the client address behind proxies', () => {
  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(limiter(0).ip(request('10.0.0.9', '203.0.113.7'))).toBe('10.0.0.9');
  });

  it('is the entry the trusted proxy appended, not one the client wrote', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the ingress appended the address it saw.
    expect(limiter(1).ip(request('10.0.0.9', '1.2.3.4, 203.0.113.7'))).toBe('203.0.113.7');
    expect(limiter(1).ip(request('10.0.0.9', ['1.2.3.4', '203.0.113.7']))).toBe('203.0.113.7');
    expect(limiter(2).ip(request('10.0.0.9', '1.2.3.4, 203.0.113.7, 10.1.0.1'))).toBe(
      '203.0.113.7',
    );
  });

  it('falls back to the leftmost entry, or the peer, when the header is shorter than the hops', () => {
    expect(limiter(3).ip(request('10.0.0.9', '203.0.113.7'))).toBe('203.0.113.7');
    expect(limiter(1).ip(request('10.0.0.9'))).toBe('10.0.0.9');
    expect(limiter(1).ip(request('10.0.0.9', ' , '))).toBe('10.0.0.9');
  });

  it('limits a client however it varies the entries it writes itself', async () => {
    const ips = limiter(1, 2);
    const results = [];
    for (let i = 0; i < 5; i++)
      results.push(await ips.check(request('10.0.0.9', `198.51.100.${i}, 203.0.113.7`)));
    expect(results.slice(0, 2)).toEqual([0, 0]);
    for (const wait of results.slice(2)) expect(wait).toBeGreaterThan(0);
  });
});
