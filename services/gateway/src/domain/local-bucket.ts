/**
 * An in-process token bucket for limits that belong to one connection (a
 * socket lives on one pod, so there is nothing to share).
 */
export class LocalBucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Takes `cost` tokens; returns 0 when allowed, else the milliseconds to wait. */
  take(cost = 1): number {
    const now = Date.now();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.at) / 1000) * this.refillPerSecond,
    );
    this.at = now;
    if (cost <= this.tokens) {
      this.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - this.tokens) / this.refillPerSecond) * 1000);
  }
}
