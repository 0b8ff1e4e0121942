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
import { emergencyDetector } from './adapters/emergency-model.js';
import { emergencyAnswer, emergencyTicketId, type EmergencyDetector } from './domain/emergency.js';
import { INSTANT_SOURCES } from './domain/answering-chain.js';
import type { DegradationLevel } from './domain/degradation.js';
import { SAFE_ANSWERS, type Guardrails } from './domain/guardrails.js';
import type { Reply, ReplyRequest, StreamingProvider, TokenUsage } from './domain/provider.js';

/** What the AI worker needs. */
export interface AiDeps {
  bus: EventBus;
  cache: Cache;
  /** The answering chain (answers that come whole are one chunk). */
  provider: StreamingProvider;
  logger: Logger;
  metrics?: { replied(provider: string, durationMs: number): void };
  /** The consumer group. @default 'ai' */
  groupId?: string;
  /**
   * Checked before any model, on every path.
   * @default `emergencyDetector()`: the default rules and the bundled classifier
   */
  emergencies?: EmergencyDetector;
  /** Shown in an emergency when the tenant set no contact of its own. */
  defaultEmergencyContact?: string;
  /** Injection, budget and leak checks around the provider. */
  guardrails?: Guardrails;
  /** The degradation level, recorded with each answer and its handoff. */
  level?: () => DegradationLevel;
}

/** The AI service's consumer group on `conversation-events`. */
export const AI_GROUP = 'ai';

/**
 * The AI service without its HTTP shell: answers each `reply.requested` with
 * a `reply.generated` through the provider, showing a typing indicator while
 * it works and streaming a model's answer to the widget as `delta` live
 * updates (an `incomplete` one when a stream breaks off). An answer that
 * hands over to a human also produces `handoff.requested`. A redelivered
 * request may be answered twice; the chat service stores one answer per user
 * message.
 */
export function createAiWorker(deps: AiDeps): Subscription {
  const registry = new EventRegistry([replyRequestedV1]);
  const emergencies = deps.emergencies ?? emergencyDetector();
  const defaultContact = deps.defaultEmergencyContact ?? 'our support team by phone';
  // Best effort and never waited for: a stalled Redis would otherwise hold
  // the model's stream while its time limits run, and count as the model
  // failing. The updates keep their order on the one connection anyway.
  const live = (event: Event, update: LiveUpdate): void => {
    void deps.cache
      .publish(conversationChannel(event.tenant_id, event.conversation_id), JSON.stringify(update))
      .catch(() => undefined);
  };

  /**
   * The provider's answer, streamed to the widget as it is written (answers
   * that come whole, such as cached ones, are not streamed), with the
   * guardrails screening the text as it grows so a leak stops the stream.
   */
  async function answer(
    request: ReplyRequest,
    replyTo: number,
    publish: (update: LiveUpdate) => void,
  ): Promise<Reply> {
    const provider = deps.provider;
    let text = '';
    let source = provider.name;
    let index = 0;
    let usage: TokenUsage | undefined;
    let handoff: Reply['handoff'];
    let rule: Reply['handoffRule'];
    let sources: Reply['sources'];
    for await (const chunk of provider.stream(request)) {
      switch (chunk.type) {
        case 'provider':
          source = chunk.name;
          break;
        case 'usage':
          usage = chunk.usage;
          break;
        case 'handoff':
          handoff = chunk.reason;
          rule = chunk.rule;
          break;
        case 'sources':
          sources = chunk.sources;
          break;
        case 'tool':
          deps.logger.debug({ tool: chunk.name, failed: chunk.error }, 'Tool called');
          break;
        case 'incomplete':
          if (index > 0) publish({ kind: 'incomplete', replyTo: replyTo, reason: chunk.reason });
          text = '';
          index = 0;
          break;
        case 'text':
          text += chunk.text;
          if (deps.guardrails?.leaks(text)) {
            if (index > 0) publish({ kind: 'incomplete', replyTo: replyTo, reason: 'withheld' });
            return deps.guardrails.after(request, {
              text: SAFE_ANSWERS.leak,
              provider: 'guardrails',
              ...(usage ? { usage } : {}),
            });
          }
          if (!INSTANT_SOURCES.has(source))
            publish({ kind: 'delta', replyTo: replyTo, index: index++, text: chunk.text });
          break;
      }
    }
    const reply: Reply = {
      text,
      provider: source,
      ...(usage ? { usage } : {}),
      ...(handoff ? { handoff } : {}),
      ...(rule ? { handoffRule: rule } : {}),
      ...(sources?.length ? { sources } : {}),
    };
    return deps.guardrails ? deps.guardrails.after(request, reply) : reply;
  }

  return deps.bus.subscribe({
    groupId: deps.groupId ?? AI_GROUP,
    registry,
    fromBeginning: true,
    handler: async (raw, ctx) => {
      const event = raw as Event<ReplyRequestedV1>;
      const started = performance.now();
      live(event, { kind: 'typing', role: 'assistant', active: true });
      // Emergencies bypass every model (and the cache), as the design's emergency protocol
      // says: an immediate answer with the contact to call and a ticket id.
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
        const request: ReplyRequest = {
          tenantId: event.tenant_id,
          conversationId: event.conversation_id,
          text: event.payload.text,
          history: event.payload.history,
          signal: ctx.signal,
          ...(event.payload.ai_settings ? { settings: event.payload.ai_settings } : {}),
          ...(event.payload.customer_vip ? { customerVip: true } : {}),
        };
        const refusal = await deps.guardrails?.before(request);
        reply =
          refusal ??
          (await answer(request, event.payload.message_seq, (update) => live(event, update)));
      }
      const level = deps.level?.();
      if (reply.handoff)
        await deps.bus.publish(
          registry.create(handoffRequestedV1, {
            conversationId: event.conversation_id,
            tenantId: event.tenant_id,
            payload: {
              reason: reply.handoff,
              ...(reply.handoffRule ? { rule: reply.handoffRule } : {}),
              message_seq: event.payload.message_seq,
              ...(reply.handoff === 'degraded' && level ? { degradation_level: level } : {}),
            },
          }),
        );
      await deps.bus.publish(
        registry.create(replyGeneratedV1, {
          conversationId: event.conversation_id,
          tenantId: event.tenant_id,
          payload: {
            reply_to_seq: event.payload.message_seq,
            message_id: randomUUID(),
            text: reply.text,
            provider: reply.provider ?? deps.provider.name,
            ...(level ? { degradation_level: level } : {}),
            ...(reply.sources?.length ? { sources: reply.sources } : {}),
          },
        }),
      );
      deps.metrics?.replied(reply.provider ?? deps.provider.name, performance.now() - started);
    },
  });
}
