/** One phone call this process is carrying. */
export interface Call {
  callSid: string;
  streamSid: string;
  tenantId: string;
  from: string | null;
  startedAt: number;
  /** Caller audio received, in 20 ms frames. */
  framesIn: number;
  /** Keys the caller pressed, in order. */
  digits: string[];
  /** The conversation the call is part of, once its pipeline started. */
  conversationId?: string;
}

/**
 * The calls in progress on this process: their count is `concurrent_calls`
 * (the voice HPA metric). Draining (SIGTERM) takes no new call and waits for
 * the active ones to finish, up to the deadline.
 */
export class CallRegistry {
  private readonly calls = new Map<string, Call>();
  private draining = false;
  private readonly idle = new Set<() => void>();
  private readonly listeners = new Set<(size: number) => void>();

  constructor(private readonly maxCalls: number) {}

  /** Calls `listener` with the number of calls whenever a call starts or ends. */
  onChange(listener: (size: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.calls.size;
  }

  /** Why a new call cannot be taken now, or null when it can. */
  refusal(): 'draining' | 'full' | null {
    if (this.draining) return 'draining';
    return this.calls.size >= this.maxCalls ? 'full' : null;
  }

  add(call: Call): void {
    this.calls.set(call.streamSid, call);
    for (const listener of this.listeners) listener(this.calls.size);
  }

  /** The calls in progress. */
  list(): Call[] {
    return [...this.calls.values()];
  }

  get(streamSid: string): Call | undefined {
    return this.calls.get(streamSid);
  }

  end(streamSid: string): Call | undefined {
    const call = this.calls.get(streamSid);
    if (!this.calls.delete(streamSid)) return undefined;
    for (const listener of this.listeners) listener(this.calls.size);
    if (this.calls.size === 0) for (const wake of this.idle) wake();
    return call;
  }

  /** Takes no new call; resolves when the last active one ended, or at the deadline (false). */
  async drain(deadlineMs: number): Promise<boolean> {
    this.draining = true;
    if (this.calls.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const done = (finished: boolean) => {
        clearTimeout(timer);
        this.idle.delete(wake);
        resolve(finished);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), deadlineMs);
      this.idle.add(wake);
    });
  }
}
