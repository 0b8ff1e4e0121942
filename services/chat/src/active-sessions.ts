/**
 * The conversations this pod served recently: a user message handled within
 * the window. The chat HPA scales on it (`active_sessions`, 100 per pod in
 * the design's chat HPA); Kafka's partitions split conversations between
 * pods, so each pod counts its own. Memory is bounded: one entry per
 * conversation, pruned as they age (and the oldest dropped beyond
 * `maxEntries`).
 */
export class ActiveSessions {
  // Insertion order is recency order: a touched key moves to the end.
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs = 300_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  touch(tenantId: string, conversationId: string): void {
    const key = `${tenantId}\u0000${conversationId}`;
    this.seen.delete(key);
    this.seen.set(key, this.now());
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Conversations seen within the window. */
  count(): number {
    const cutoff = this.now() - this.windowMs;
    for (const [key, at] of this.seen) {
      if (at >= cutoff) break;
      this.seen.delete(key);
    }
    return this.seen.size;
  }
}
