import { createHmac, randomUUID } from 'node:crypto';
import {
  callbackRequestedV1,
  conversationChannel,
  conversationEndedV1,
  liveUpdateSchema,
  messageReceivedV1,
  type EventRegistry,
  type LiveUpdate,
} from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Unsubscribe } from '@parley/ports';
import type { CallConversation } from '../domain/call-session.js';

/** What every call's link shares. */
export interface ConversationLinkDeps {
  bus: EventBus;
  cache: Cache;
  registry: EventRegistry;
  logger: Logger;
}

/**
 * A call's conversation, as the widget gateway has it for a web visitor: the
 * caller's words go onto `conversation-events` as `message.received` (channel
 * `voice`), so they get the same assistant, knowledge, emergency and handoff
 * handling, and are stored as the call's transcript; answers, agent messages
 * and handoff states come back on the conversation's live channel.
 */
export class ConversationLink implements CallConversation {
  readonly conversationId = randomUUID();
  private readonly visitorId: string;
  private unsubscribe: Unsubscribe | undefined;
  private closed = false;
  /** Whether the conversation has anything on the bus (a message, a callback): then its end goes there too. */
  private started = false;

  constructor(
    private readonly deps: ConversationLinkDeps,
    private readonly call: { tenantId: string; callerNumber: string | null; language: string },
    /** Keys the caller's visitor id (a server secret: the id does not reveal the number). */
    visitorKey: string,
  ) {
    // The caller's number is personal data: the visitor id is a keyed digest of it, stable per tenant.
    this.visitorId = call.callerNumber
      ? `phone:${createHmac('sha256', visitorKey).update(`${call.tenantId}\n${call.callerNumber}`).digest('hex').slice(0, 32)}`
      : `phone:${randomUUID()}`;
  }

  /** Starts delivering the conversation's live updates to `listener`. */
  async open(listener: (update: LiveUpdate) => void): Promise<void> {
    const unsubscribe = await this.deps.cache.subscribe(
      conversationChannel(this.call.tenantId, this.conversationId),
      (raw) => {
        const parsed = liveUpdateSchema.safeParse(safeJson(raw));
        if (parsed.success) listener(parsed.data);
        else this.deps.logger.warn('Malformed live update dropped');
      },
    );
    // The call may have ended while subscribing: nobody would unsubscribe later.
    if (this.closed) await unsubscribe().catch(() => undefined);
    else this.unsubscribe = unsubscribe;
  }

  async post(text: string): Promise<void> {
    this.started = true;
    await this.deps.bus.publish(
      this.deps.registry.create(messageReceivedV1, {
        tenantId: this.call.tenantId,
        conversationId: this.conversationId,
        payload: {
          message_id: randomUUID(),
          client_message_id: randomUUID(),
          visitor_id: this.visitorId,
          channel: 'voice',
          text: text.slice(0, 4_000),
          language: this.call.language,
        },
      }),
    );
  }

  async requestCallback(phone: string): Promise<void> {
    const contact = phone.replace(/[\s()-]/g, '');
    this.started = true;
    await this.deps.bus.publish(
      this.deps.registry.create(callbackRequestedV1, {
        tenantId: this.call.tenantId,
        conversationId: this.conversationId,
        payload: { contact_kind: 'phone', contact, note: 'Phone call: no agent was free' },
      }),
    );
  }

  /**
   * The call ended: live updates stop, and the conversation's end goes on the
   * bus (`conversation.ended`), so a handoff still waiting or held for it
   * ends too, callback booked or not.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unsubscribe?.().catch(() => undefined);
    if (!this.started) return;
    await this.deps.bus
      .publish(
        this.deps.registry.create(conversationEndedV1, {
          tenantId: this.call.tenantId,
          conversationId: this.conversationId,
          payload: { channel: 'voice', reason: 'call_ended' },
        }),
      )
      .catch((err: unknown) =>
        this.deps.logger.error({ err }, 'The call’s end was not published; its handoff stays open'),
      );
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
