import { randomUUID } from 'node:crypto';
import {
  EventRegistry,
  conversationChannel,
  handoffRequestedV1,
  replyGeneratedV1,
  replyRequestedV1,
  type Event,
  type LiveUpdate,
  type ReplyRequestedV1,
} from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { Cache, EventBus, Subscription } from '@parley/ports';
import { EmergencyDetector, emergencyAnswer, emergencyTicketId } from './domain/emergency.js';
import type { Guardrails } from './domain/guardrails.js';
import type { Reply, ReplyProvider } from './domain/provider.js';

/** What the AI worker needs. */
export interface AiDeps {
  bus: EventBus;
  cache: Cache;
  provider: ReplyProvider;
  logger: Logger;
  metrics?: { replied(provider: string, durationMs: number): void };
  /** The consumer group. @default 'ai' */
  groupId?: string;
  /** Checked before any model, on every path. @default the seed's rules */
  emergencies?: EmergencyDetector;
  /** Shown in an emergency when the tenant set no contact of its own. */
  defaultEmergencyContact?: string;
  /** Injection, budget and leak checks around the provider. */
  guardrails?: Guardrails;
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
  const emergencies = deps.emergencies ?? new EmergencyDetector();
  const defaultContact = deps.defaultEmergencyContact ?? 'our support team by phone';
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
      // Emergencies bypass every model (and the cache): seed 004's emergency protocol.
      const alarm = emergencies.score(event.payload.text);
      let reply: Reply;
      if (alarm.emergency) {
        const ticketId = emergencyTicketId();
        const contact = event.payload.emergency_contact ?? defaultContact;
        reply = { text: emergencyAnswer(ticketId, contact), provider: 'emergency' };
        deps.logger.warn(
          {
            conversationId: event.conversation_id,
            ticketId,
            score: alarm.score,
            matched: alarm.matched,
          },
          'Emergency detected',
        );
        await deps.bus.publish(
          registry.create(handoffRequestedV1, {
            conversationId: event.conversation_id,
            tenantId: event.tenant_id,
            payload: {
              reason: 'emergency',
              message_seq: event.payload.message_seq,
              ticket_id: ticketId,
              score: alarm.score,
            },
          }),
        );
      } else {
        const request = {
          tenantId: event.tenant_id,
          conversationId: event.conversation_id,
          text: event.payload.text,
          history: event.payload.history,
          signal: ctx.signal,
        };
        const refusal = await deps.guardrails?.before(request);
        reply = refusal ?? (await deps.provider.reply(request));
        if (!refusal && deps.guardrails) reply = await deps.guardrails.after(request, reply);
      }
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
