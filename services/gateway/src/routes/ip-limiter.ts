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
    private readonly trustProxy: boolean,
    /** Key prefix of the buckets (a route with a bucket of its own uses another). */
    private readonly prefix = 'parley:rl:ip:',
  ) {}

  /** The client address: the first X-Forwarded-For hop behind a trusted proxy, else the peer. */
  ip(req: IncomingMessage): string {
    if (this.trustProxy) {
      const forwarded = req.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  /** 0 when allowed, else the milliseconds to wait. */
  async check(req: IncomingMessage): Promise<number> {
    const result = await this.cache
      .takeTokens(`${this.prefix}${this.ip(req)}`, this.bucket)
      .catch(() => ({ allowed: true, retryAfterMs: 0 }));
    return result.allowed ? 0 : Math.max(1, result.retryAfterMs);
  }
}
