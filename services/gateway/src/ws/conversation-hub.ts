import { conversationChannel, liveUpdateSchema, type LiveUpdate } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { Cache, Unsubscribe } from '@parley/ports';

/** Something that wants a conversation's live updates (a socket). */
export type LiveListener = (update: LiveUpdate) => void;

interface Room {
  listeners: Set<LiveListener>;
  subscribed: Promise<Unsubscribe>;
}

/**
 * Subscribes this pod to the pub/sub channel of each conversation that has
 * a socket here, and fans updates out to those sockets. The last socket to
 * leave unsubscribes. Malformed updates are dropped and logged.
 */
export class ConversationHub {
  private readonly rooms = new Map<string, Room>();

  constructor(
    private readonly cache: Cache,
    private readonly logger: Logger,
  ) {}

  /** Starts delivering the conversation's updates to `listener`; resolves once subscribed. */
  async join(
    tenantId: string,
    conversationId: string,
    listener: LiveListener,
  ): Promise<() => Promise<void>> {
    const channel = conversationChannel(tenantId, conversationId);
    let room = this.rooms.get(channel);
    if (!room) {
      const listeners = new Set<LiveListener>();
      const subscribed = this.cache.subscribe(channel, (raw) => this.fanOut(listeners, raw));
      room = { listeners, subscribed };
      this.rooms.set(channel, room);
      subscribed.catch(() => this.rooms.delete(channel));
    }
    room.listeners.add(listener);
    await room.subscribed;
    const joined = room;
    return async () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size > 0 || this.rooms.get(channel) !== joined) return;
      this.rooms.delete(channel);
      await (await joined.subscribed)().catch(() => undefined);
    };
  }

  /** Conversations with at least one socket on this pod. */
  get size(): number {
    return this.rooms.size;
  }

  private fanOut(listeners: Set<LiveListener>, raw: string): void {
    let update: LiveUpdate;
    try {
      update = liveUpdateSchema.parse(JSON.parse(raw));
    } catch (err) {
      this.logger.warn({ err }, 'Malformed live update dropped');
      return;
    }
    for (const listener of listeners) listener(update);
  }
}
