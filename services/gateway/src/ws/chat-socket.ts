import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  cacheKey,
  conversationChannel,
  callbackRequestedV1,
  messageReceivedV1,
  type ConversationState,
  type EventRegistry,
  type LiveUpdate,
  type StoredMessage,
} from '@parley/contracts';
import type { ConversationStore, SessionCache } from '@parley/conversations';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, ReadConsistency } from '@parley/ports';
import type { GatewaySettings } from '../config.js';
import type { GatewayErrorCode } from '../domain/errors.js';
import { parseClientFrame, type ClientFrame, type ServerFrame } from '../domain/frames.js';
import { LocalBucket } from '../domain/local-bucket.js';
import type { SessionClaims } from '../domain/tokens.js';
import type { GatewayMetrics } from '../metrics.js';

/** What every socket of a gateway shares. */
export interface SocketDeps {
  bus: EventBus;
  cache: Cache;
  store: ConversationStore;
  sessions: SessionCache;
  registry: EventRegistry;
  settings: GatewaySettings;
  /** This installation's region: a conversation resumed here gets it as its home. */
  region?: string;
  metrics: GatewayMetrics;
  logger: Logger;
}

const REPLAY_PAGE = 200;
const MAX_BUFFERED = 500;
const MAX_PENDING_ACKS = 100;

/**
 * One widget connection. Nothing is sent before the client's `resume`; then
 * the conversation's state, every stored message after the client's last
 * sequence number, and live updates, each message exactly once and in order
 * (gaps are filled from storage). User messages go to the bus and are
 * acknowledged once the chat service stored them.
 */
export class ChatSocket {
  private phase: 'waiting' | 'replaying' | 'live' = 'waiting';
  private lastSentSeq = 0;
  private readonly buffer: LiveUpdate[] = [];
  private overflowed = false;
  /** Client message ids on the bus but not yet seen stored, with when they were sent. */
  private readonly pendingAcks = new Map<string, number>();
  /** When the newest message sent was the visitor's own, still without an answer. */
  private unansweredSince: number | undefined;
  private readonly bucket: LocalBucket;

  constructor(
    private readonly ws: WebSocket,
    readonly claims: SessionClaims,
    private readonly deps: SocketDeps,
  ) {
    this.bucket = new LocalBucket(deps.settings.connectionBurst, deps.settings.connectionPerSecond);
  }

  /** Called by the hub for every update of this conversation. */
  readonly onLive = (update: LiveUpdate): void => {
    if (this.phase !== 'live') {
      if (this.buffer.length < MAX_BUFFERED) this.buffer.push(update);
      else this.overflowed = true;
      return;
    }
    void this.deliver(update).catch((err: unknown) => this.fail(err));
  };

  /** Handles one frame from the client; never throws. */
  async onFrame(data: Buffer, isBinary: boolean): Promise<void> {
    if (isBinary) return this.error('GW_ERR_BAD_FRAME', 'binary frames are not supported');
    const parsed = parseClientFrame(data.toString('utf8'));
    const cost =
      parsed.ok && (parsed.frame.type === 'ping' || parsed.frame.type === 'typing') ? 0.2 : 1;
    const waitMs = this.bucket.take(cost);
    if (waitMs > 0) {
      return this.error('GW_ERR_RATE_LIMITED', 'too many frames on this connection', {
        retryAfterMs: waitMs,
        clientMessageId:
          parsed.ok && parsed.frame.type === 'message' ? parsed.frame.clientMessageId : undefined,
      });
    }
    if (!parsed.ok)
      return this.error('GW_ERR_BAD_FRAME', parsed.message, {
        ...(parsed.clientMessageId ? { clientMessageId: parsed.clientMessageId } : {}),
      });
    try {
      await this.handle(parsed.frame);
    } catch (err) {
      this.fail(err);
    }
  }

  private async handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'ping':
        return this.send({ type: 'pong' });
      case 'resume':
        return this.resume(frame.afterSeq);
      case 'typing':
        if (this.phase === 'waiting') return this.notResumed();
        await this.deps.cache
          .publish(
            conversationChannel(this.claims.tenantId, this.claims.conversationId),
            JSON.stringify({
              kind: 'typing',
              role: 'visitor',
              active: frame.active,
            } satisfies LiveUpdate),
          )
          .catch(() => undefined);
        return;
      case 'message':
        if (this.phase === 'waiting') return this.notResumed(frame.clientMessageId);
        return this.accept(frame.clientMessageId, frame.text);
      case 'callback':
        if (this.phase === 'waiting') return this.notResumed();
        return this.requestCallback(frame);
    }
  }

  /** Sends the state, replays what the client missed, then goes live (again, on a second resume). */
  private async resume(afterSeq: number): Promise<void> {
    this.phase = 'replaying';
    const { tenantId, conversationId } = this.claims;
    // Redis down: the state comes from storage instead.
    const cached = await this.deps.sessions.get(tenantId, conversationId).catch(() => null);
    const stored = cached ? null : await this.deps.store.conversation(tenantId, conversationId);
    // The session was issued to the conversation's visitor; checked again here, where it is read.
    const owner = (cached ?? stored)?.visitorId;
    if (owner !== undefined && owner !== this.claims.visitorId) {
      this.phase = 'waiting';
      this.error('GW_ERR_CONVERSATION_FORBIDDEN', 'this conversation belongs to someone else');
      this.ws.close(1008, 'conversation forbidden');
      return;
    }
    const known = cached ?? stored;
    // The visitor is here now: events about its conversation that start in
    // another region (an agent's reply) are to be published to this one.
    if (known && this.deps.region && known.homeRegion !== this.deps.region)
      void this.deps.store
        .claimHome(tenantId, conversationId, this.deps.region)
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'Home region not recorded'));
    const state: ConversationState = known ?? {
      status: 'open',
      handler: 'bot',
      handoff: 'none',
      lastSeq: 0,
    };
    this.send({
      type: 'state',
      conversationId,
      status: state.status,
      handler: state.handler,
      handoff: state.handoff,
      lastSeq: state.lastSeq,
    });
    this.lastSentSeq = Math.min(afterSeq, state.lastSeq);
    await this.catchUp(cached ? { after: cached.position } : 'replica');
    if (this.lastSentSeq < state.lastSeq) await this.catchUp('primary');
    await this.goLive();
  }

  /**
   * Sends what was buffered meanwhile and goes live. Live even when storage
   * failed on the way: a socket left replaying would buffer every update and
   * never acknowledge again; what it could not send, the next heartbeat's
   * {@link refresh} catches up.
   */
  private async goLive(): Promise<void> {
    try {
      for (;;) {
        const pending = this.buffer.splice(0);
        if (this.overflowed) {
          this.overflowed = false;
          await this.catchUp('primary');
        }
        for (const update of pending) await this.deliver(update, true);
        if (this.buffer.length === 0 && !this.overflowed) break;
      }
    } finally {
      this.phase = 'live';
    }
  }

  /** Fills a gap from storage, then goes live again whether or not storage answered. */
  private async replay(consistency: ReadConsistency): Promise<void> {
    this.phase = 'replaying';
    try {
      await this.catchUp(consistency);
    } finally {
      await this.goLive();
    }
  }

  /** Sends every stored message after the last one sent. */
  private async catchUp(consistency: ReadConsistency): Promise<void> {
    for (;;) {
      const page = await this.deps.store.messagesAfter(
        this.claims.tenantId,
        this.claims.conversationId,
        this.lastSentSeq,
        REPLAY_PAGE,
        consistency,
      );
      for (const message of page) this.sendMessage(message);
      if (page.length < REPLAY_PAGE) return;
    }
  }

  private async deliver(update: LiveUpdate, draining = false): Promise<void> {
    switch (update.kind) {
      case 'typing':
        if (update.role !== 'visitor')
          this.send({ type: 'typing', role: update.role, active: update.active });
        return;
      case 'delta':
        // A draft of the answer to a message; the stored answer follows and supersedes it.
        return this.send({
          type: 'delta',
          replyTo: update.replyTo,
          index: update.index,
          text: update.text,
        });
      case 'incomplete':
        return this.send({ type: 'incomplete', replyTo: update.replyTo, reason: update.reason });
      case 'callback_offer':
        return this.send({ type: 'callback_offer' });
      case 'callback_saved':
        return this.send({ type: 'callback_saved', ticketId: update.ticketId });
      case 'queue':
        return this.send({
          type: 'queue',
          position: update.position,
          estimatedWaitSeconds: update.estimatedWaitSeconds,
        });
      case 'state':
        return this.send({
          type: 'state',
          conversationId: this.claims.conversationId,
          ...update.state,
        });
      case 'message': {
        const { message } = update;
        this.ackIfPending(message);
        if (message.seq <= this.lastSentSeq) return;
        if (message.seq > this.lastSentSeq + 1) {
          // A live update went missing (pub/sub is best effort): fill the gap from storage.
          if (draining) await this.catchUp('primary');
          else await this.replay('primary');
          if (message.seq <= this.lastSentSeq) return;
        }
        this.sendMessage(message);
        if (update.answersReceivedAt)
          this.deps.metrics.latency.observe(
            (Date.now() - Date.parse(update.answersReceivedAt)) / 1000,
          );
        return;
      }
    }
  }

  private ackIfPending(message: StoredMessage): void {
    if (message.role === 'user' && this.pendingAcks.delete(message.clientMessageId))
      this.send({ type: 'ack', clientMessageId: message.clientMessageId, seq: message.seq });
  }

  /**
   * The safety net under best-effort pub/sub, run on every heartbeat: when the
   * conversation has messages this socket has not been sent, a message has
   * waited longer than `staleMs` for its ack, or the visitor's last message
   * that long for an answer, catch up from storage.
   */
  async refresh(staleMs: number): Promise<void> {
    if (this.phase !== 'live') return;
    const { tenantId, conversationId } = this.claims;
    // Redis down: no cached state; storage decides below.
    const state = await this.deps.sessions.get(tenantId, conversationId).catch(() => null);
    const now = Date.now();
    let waiting = false;
    for (const sentAt of this.pendingAcks.values()) if (now - sentAt > staleMs) waiting = true;
    // The visitor's last message is stored but no answer came: the cached state
    // may be stale (its update lost in a Redis outage), so ask storage, at most
    // once per interval. A replica is enough: a miss is retried next time.
    const unanswered = this.unansweredSince !== undefined && now - this.unansweredSince > staleMs;
    if (!waiting && !unanswered && (!state || state.lastSeq <= this.lastSentSeq)) return;
    if (unanswered) this.unansweredSince = now;
    await this.replay(
      waiting
        ? 'primary'
        : state && state.lastSeq > this.lastSentSeq
          ? { after: state.position }
          : 'replica',
    );
  }

  private sendMessage(message: StoredMessage): void {
    this.ackIfPending(message);
    if (message.seq <= this.lastSentSeq) return;
    if (message.role === 'user') this.unansweredSince ??= Date.now();
    else this.unansweredSince = undefined;
    this.lastSentSeq = message.seq;
    this.send({ type: 'message', ...message });
    this.deps.metrics.messagesOut.inc();
  }

  /** Puts a user message on the bus; the ack follows once the chat service stored it. */
  private async accept(clientMessageId: string, text: string): Promise<void> {
    const { tenantId, conversationId, visitorId, language, customerId } = this.claims;
    const tenantLimit = await this.deps.cache
      .takeTokens(cacheKey('rl:tenant', tenantId), {
        capacity: this.deps.settings.tenantBurst,
        refillPerSecond: this.deps.settings.tenantPerSecond,
      })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'Tenant rate limit unavailable; allowing');
        return { allowed: true, retryAfterMs: 0 };
      });
    if (!tenantLimit.allowed)
      return this.error('GW_ERR_RATE_LIMITED', 'too many messages for this site right now', {
        clientMessageId,
        retryAfterMs: tenantLimit.retryAfterMs,
      });
    if (this.pendingAcks.size >= MAX_PENDING_ACKS && !this.pendingAcks.has(clientMessageId))
      return this.error('GW_ERR_RATE_LIMITED', 'too many messages waiting for acknowledgement', {
        clientMessageId,
        retryAfterMs: 1_000,
      });
    this.pendingAcks.set(clientMessageId, Date.now());
    try {
      await this.deps.bus.publish(
        this.deps.registry.create(messageReceivedV1, {
          conversationId,
          tenantId,
          payload: {
            message_id: randomUUID(),
            client_message_id: clientMessageId,
            visitor_id: visitorId,
            channel: 'web',
            text,
            ...(language ? { language } : {}),
            ...(customerId ? { customer_id: customerId } : {}),
          },
        }),
      );
      this.deps.metrics.messagesIn.inc();
    } catch (err) {
      this.pendingAcks.delete(clientMessageId);
      this.deps.logger.error({ err, conversationId }, 'Message not accepted: the bus failed');
      this.error('GW_ERR_UNAVAILABLE', 'the message could not be accepted; send it again', {
        clientMessageId,
        retryAfterMs: 1_000,
      });
    }
  }

  /** Puts a callback request on the bus for the hitl service (which confirms with `callback_saved`). */
  private async requestCallback(frame: Extract<ClientFrame, { type: 'callback' }>): Promise<void> {
    if (!frame.phone === !frame.email)
      return this.error('GW_ERR_BAD_FRAME', 'callback: give either a phone number or an e-mail');
    const { tenantId, conversationId } = this.claims;
    // A callback is about a conversation: before its first message there is none to attach
    // it to (and nobody to tell), so it is refused here rather than lost downstream.
    const exists =
      (await this.deps.sessions.get(tenantId, conversationId).catch(() => null)) ??
      (await this.deps.store.conversation(tenantId, conversationId, 'primary'));
    if (!exists)
      return this.error(
        'GW_ERR_NO_CONVERSATION',
        'callback: send a message first; this conversation has none yet',
      );
    const note = frame.note?.trim() ? { note: frame.note.trim() } : {};
    try {
      await this.deps.bus.publish(
        this.deps.registry.create(callbackRequestedV1, {
          conversationId,
          tenantId,
          payload: frame.phone
            ? { contact_kind: 'phone', contact: frame.phone, ...note }
            : { contact_kind: 'email', contact: frame.email!, ...note },
        }),
      );
    } catch (err) {
      this.deps.logger.error({ err, conversationId }, 'Callback not accepted: the bus failed');
      this.error('GW_ERR_UNAVAILABLE', 'the callback request could not be sent; try again', {
        retryAfterMs: 1_000,
      });
    }
  }

  private notResumed(clientMessageId?: string): void {
    this.error('GW_ERR_NOT_RESUMED', 'send a resume frame first', { clientMessageId });
  }

  private error(
    code: GatewayErrorCode,
    message: string,
    extra: { clientMessageId?: string; retryAfterMs?: number } = {},
  ): void {
    this.send({ type: 'error', code, message, ...extra });
  }

  /** An unexpected failure: log it, tell the client generically, and close so it resumes elsewhere. */
  private fail(err: unknown): void {
    this.deps.logger.error({ err, conversationId: this.claims.conversationId }, 'Socket failed');
    this.error('GW_ERR_UNAVAILABLE', 'temporary failure; reconnecting');
    this.ws.close(1011, 'internal error');
  }

  private send(frame: ServerFrame): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }
}
