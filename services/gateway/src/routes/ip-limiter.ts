import type { IncomingMessage } from 'node:http';
import type { Cache } from '@parley/ports';

/**
 * The per-IP token bucket shared by session requests and socket upgrades,
 * kept in the cache so every pod counts together. Fails open when the cache
 * is down (availability over strictness; the per-tenant and per-connection
 * limits still apply).
 */
export class IpLimiter {
  constructor(
    private readonly cache: Cache,
    private readonly bucket: { capacity: number; refillPerSecond: number },
    /**
     * How many proxies in front of the gateway append to `X-Forwarded-For`
     * (0: trust none, the peer's address counts).
     */
    private readonly trustedHops: number,
    /** Key prefix of the buckets (a route with a bucket of its own uses another). */
    private readonly prefix = 'parley:rl:ip:',
  ) {}

  /**
   * The client's address: the one the outermost trusted proxy saw. Each proxy
   * appends its peer to `X-Forwarded-For`, so with N trusted hops that is the
   * N-th entry from the right; entries further left were written by the
   * client and could be anything. With no trusted hop, the socket's peer.
   */
  ip(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? 'unknown';
    if (this.trustedHops === 0) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((hop) => hop.trim())
      .filter(Boolean);
    const chain = [...hops, peer];
    return chain[Math.max(0, chain.length - 1 - this.trustedHops)]!;
  }

  /** 0 when allowed, else the milliseconds to wait. */
  async check(req: IncomingMessage): Promise<number> {
    const result = await this.cache
      .takeTokens(`${this.prefix}${this.ip(req)}`, this.bucket)
      .catch(() => ({ allowed: true, retryAfterMs: 0 }));
    return result.allowed ? 0 : Math.max(1, result.retryAfterMs);
  }
}
