/**
 * The `conversation-events` contract: the envelope, the event payloads and
 * how versions evolve (VERSIONING.md), plus the live updates published to
 * gateway pods.
 *
 * ```ts
 * import { EventRegistry, allEvents, messageReceivedV1 } from '@parley/contracts';
 * const registry = new EventRegistry(allEvents);
 * const event = registry.create(messageReceivedV1, { conversationId, tenantId, payload });
 * const result = registry.decode(kafkaMessage.value); // ok | invalid | unknown_type | newer_version
 * ```
 */
export {
  CONVERSATION_EVENTS_TOPIC,
  envelopeSchema,
  idSchema,
  type Envelope,
  type Event,
} from './envelope.js';
export { tenantIdSchema, keyPart, cacheKey } from './keys.js';
export { storableText } from './text.js';
export { EventRegistry, type EventDefinition, type DecodeResult } from './registry.js';
export {
  messageReceivedV1,
  replyRequestedV1,
  replyGeneratedV1,
  handoffRequestedV1,
  handoffAcceptedV1,
  handoffClosedV1,
  handoffTransferredV1,
  callbackRequestedV1,
  conversationEndedV1,
  agentRepliedV1,
  knowledgeIngestRequestedV1,
  KNOWLEDGE_JOBS_TOPIC,
  type KnowledgeIngestRequestedV1,
  degradationLevelSchema,
  answerSourceSchema,
  languageSchema,
  tenantAiSettingsSchema,
  type TenantAiSettings,
  allEvents,
  type MessageReceivedV1,
  type ReplyRequestedV1,
  type ReplyGeneratedV1,
  type ConversationEndedV1,
  type HandoffRequestedV1,
  type HandoffAcceptedV1,
  type HandoffClosedV1,
  type HandoffTransferredV1,
  type CallbackRequestedV1,
  type AgentRepliedV1,
} from './events.js';
export {
  conversationChannel,
  conversationStateSchema,
  storedMessageSchema,
  liveUpdateSchema,
  type ConversationState,
  type StoredMessage,
  type LiveUpdate,
} from './live.js';
export { readinessServes } from './readiness.js';
export {
  ASSIGNMENT_STRATEGIES,
  hitlSettingsSchema,
  queueNameSchema,
  type AssignmentStrategy,
  type HitlSettings,
} from './hitl-settings.js';
