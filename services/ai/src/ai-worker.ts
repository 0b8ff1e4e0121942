import { randomUUID } from 'node:crypto';
import {
  EventRegistry,
  conversationChannel,
  replyGeneratedV1,
  replyRequestedV1,
  type Event,
  type LiveUpdate,
  type ReplyRequestedV1,
} from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Subscription } from '@parley/ports';
import type { ReplyProvider } from './domain/provider.js';

/** What the AI worker needs. */
export interface AiDeps {
  bus: EventBus;
  cache: Cache;
  provider: ReplyProvider;
  logger: Logger;
  metrics?: { replied(provider: string, durationMs: number): void };
  /** The consumer group. @default 'ai' */
  groupId?: string;
}

/** The AI service's consumer group on `conversation-events`. */
export const AI_GROUP = 'ai';

/**
 * The AI service without its HTTP shell: answers each `reply.requested` with
 * a `reply.generated` through the provider, showing a typing indicator while
 * it works. A redelivered request may be answered twice; the chat service
 * stores one answer per user message.
 */
export function createAiWorker(deps: AiDeps): Subscription {
  const registry = new EventRegistry([replyRequestedV1]);
  const live = (event: Event, update: LiveUpdate) =>
    deps.cache
      .publish(conversationChannel(event.tenant_id, event.conversation_id), JSON.stringify(update))
      .catch(() => undefined);

  return deps.bus.subscribe({
    groupId: deps.groupId ?? AI_GROUP,
    registry,
    fromBeginning: true,
    handler: async (raw, ctx) => {
      const event = raw as Event<ReplyRequestedV1>;
      const started = performance.now();
      await live(event, { kind: 'typing', role: 'assistant', active: true });
      const reply = await deps.provider.reply({
        tenantId: event.tenant_id,
        conversationId: event.conversation_id,
        text: event.payload.text,
        history: event.payload.history,
        signal: ctx.signal,
      });
      await deps.bus.publish(
        registry.create(replyGeneratedV1, {
          conversationId: event.conversation_id,
          tenantId: event.tenant_id,
          payload: {
            reply_to_seq: event.payload.message_seq,
            message_id: randomUUID(),
            text: reply.text,
            provider: reply.provider ?? deps.provider.name,
          },
        }),
      );
      deps.metrics?.replied(reply.provider ?? deps.provider.name, performance.now() - started);
    },
  });
}
