import { z } from 'zod';
import { idSchema } from './envelope.js';
import { storableText } from './text.js';
import type { EventDefinition } from './registry.js';

/** A language as conversations keep it: an ISO 639 primary subtag, lower case (`en`, `de`). */
export const languageSchema = z.string().regex(/^[a-z]{2,3}$/);

/** A document an answer came from, shown under the answer: its title and, when it has one, its web address. */
export const answerSourceSchema = z.object({
  title: z.string().min(1).max(300),
  url: z.string().url().max(2_000).nullable(),
});

/** `message.received` v1: an end user's message, accepted by the gateway. */
export const messageReceivedV1 = {
  type: 'message.received',
  version: 1,
  payload: z.object({
    message_id: idSchema,
    /** The client's own id for the message, which makes resends idempotent. */
    client_message_id: idSchema,
    visitor_id: idSchema,
    channel: z.enum(['web', 'voice']),
    text: storableText(4_000).pipe(z.string().min(1)),
    /** The visitor's language, from the widget (added in v1, optional). */
    language: languageSchema.optional(),
    /** The tenant's id for the customer, verified by the gateway (added in v1, optional). */
    customer_id: idSchema.optional(),
  }),
} satisfies EventDefinition;

export type MessageReceivedV1 = z.infer<typeof messageReceivedV1.payload>;

const turnSchema = z.object({
  role: z.enum(['user', 'assistant', 'agent', 'system']),
  text: storableText(4_000),
});

/**
 * A tenant's own AI settings (stored with the tenant, sent with each reply
 * request); anything left out uses the AI service's configuration.
 */
export const tenantAiSettingsSchema = z
  .object({
    /** Model tokens per UTC day; 0 means no limit. */
    daily_token_budget: z.number().int().min(0).max(1_000_000_000).optional(),
    /** Share of answers per provider (percent); 0 keeps a provider away from this tenant. */
    provider_weights: z
      .object({
        openai: z.number().int().min(0).max(100).optional(),
        anthropic: z.number().int().min(0).max(100).optional(),
        google: z.number().int().min(0).max(100).optional(),
      })
      .strict()
      .optional(),
    /** A stream with no text by then moves to the next provider. */
    first_token_timeout_ms: z.number().int().min(100).max(60_000).optional(),
    /** Longest one provider may take for a whole answer. */
    generation_timeout_ms: z.number().int().min(1_000).max(300_000).optional(),
    /** Whether the models may call tools. @default true */
    tools: z.boolean().optional(),
    /** Words or phrases that send a conversation to a person at once (case-insensitive). */
    handoff_keywords: z.array(z.string().trim().min(2).max(100)).max(50).optional(),
    /** An answer in which the model admits it does not know goes to a person. @default true */
    low_confidence_handoff: z.boolean().optional(),
    /** After an agent closes a handoff, the assistant asks the visitor to rate the help. */
    satisfaction_question: z.boolean().optional(),
    /**
     * The tenant's VIP customers (its own ids, as its pages sign them): their
     * conversations go to a person before the assistant answers. The chat
     * service resolves this list; reply requests carry only `customer_vip`.
     */
    vip_customers: z.array(idSchema).max(1_000).optional(),
  })
  .strict();

export type TenantAiSettings = z.infer<typeof tenantAiSettingsSchema>;

/** `reply.requested` v1: the chat service stored a user message the bot should answer. */
export const replyRequestedV1 = {
  type: 'reply.requested',
  version: 1,
  payload: z.object({
    /** Sequence number of the user message being answered. */
    message_seq: z.number().int().positive(),
    message_id: idSchema,
    text: storableText(4_000).pipe(z.string().min(1)),
    /** Earlier turns, oldest first, bounded by the chat service. */
    history: z.array(turnSchema).max(50),
    channel: z.enum(['web', 'voice']),
    /** The tenant's emergency contact, when it set one (added in v1, optional). */
    emergency_contact: z.string().max(200).optional(),
    /** The tenant's AI settings, when it set any (added in v1, optional). */
    ai_settings: tenantAiSettingsSchema.optional(),
    /** The customer is one of the tenant's VIPs (added in v1, optional). */
    customer_vip: z.boolean().optional(),
  }),
} satisfies EventDefinition;

export type ReplyRequestedV1 = z.infer<typeof replyRequestedV1.payload>;

/** The degradation levels, L0 (normal) to L5 (full outage, callback queue): docs/design/README.md. */
export const degradationLevelSchema = z.enum(['L0', 'L1', 'L2', 'L3', 'L4', 'L5']);

/** `reply.generated` v1: the AI service's answer to one user message. */
export const replyGeneratedV1 = {
  type: 'reply.generated',
  version: 1,
  payload: z.object({
    /** The user message answered: one reply per user message (redeliveries are deduplicated). */
    reply_to_seq: z.number().int().positive(),
    message_id: idSchema,
    text: storableText(8_000).pipe(z.string().min(1)),
    /** Which provider answered (`offline`, `openai`, ...). */
    provider: z.string().max(64),
    /** The AI service's degradation level when it answered (added in v1, optional). */
    degradation_level: degradationLevelSchema.optional(),
    /** The knowledge-base documents the answer came from (added in v1, optional). */
    sources: z.array(answerSourceSchema).max(10).optional(),
  }),
} satisfies EventDefinition;

export type ReplyGeneratedV1 = z.infer<typeof replyGeneratedV1.payload>;

/** `handoff.requested` v1: a conversation needs a human (emergency, the bot gave up, the user asked). */
export const handoffRequestedV1 = {
  type: 'handoff.requested',
  version: 1,
  payload: z.object({
    reason: z.enum([
      'emergency',
      'bot_unavailable',
      'user_request',
      'degraded',
      'tenant_rule',
      'low_confidence',
    ]),
    /** Which tenant rule, when the reason is `tenant_rule` (added in v1, optional). */
    rule: z.enum(['keyword', 'vip']).optional(),
    /** The degradation level, when the reason is `degraded` (L1: sooner; L4: human-only; L5: callback). */
    degradation_level: degradationLevelSchema.optional(),
    /** The user message that triggered it. */
    message_seq: z.number().int().positive(),
    /** Emergency ticket, when the reason is an emergency. */
    ticket_id: z.string().max(64).optional(),
    /** Emergency score (an emergency scores 40 or more). */
    score: z.number().int().min(0).optional(),
  }),
} satisfies EventDefinition;

export type HandoffRequestedV1 = z.infer<typeof handoffRequestedV1.payload>;

/** `handoff.accepted` v1: a human agent took the conversation over (the bot is muted). */
export const handoffAcceptedV1 = {
  type: 'handoff.accepted',
  version: 1,
  payload: z.object({
    handoff_id: idSchema,
    agent_id: idSchema,
    /** Shown to the end user ("Alex joined"). */
    agent_name: z.string().min(1).max(100),
  }),
} satisfies EventDefinition;

export type HandoffAcceptedV1 = z.infer<typeof handoffAcceptedV1.payload>;

/** `handoff.closed` v1: the agent closed the handoff; the bot answers again. */
export const handoffClosedV1 = {
  type: 'handoff.closed',
  version: 1,
  payload: z.object({
    handoff_id: idSchema,
    agent_id: idSchema.optional(),
    /** `resolved`: the agent closed it; `returned`: put back to the bot without an agent. */
    outcome: z.enum(['resolved', 'returned']),
  }),
} satisfies EventDefinition;

export type HandoffClosedV1 = z.infer<typeof handoffClosedV1.payload>;

/** `handoff.transferred` v1: a held handoff moved to another agent, or back to a queue. */
export const handoffTransferredV1 = {
  type: 'handoff.transferred',
  version: 1,
  payload: z.object({
    handoff_id: idSchema,
    from_agent_id: idSchema,
    /** `agent`: `agent_id`/`agent_name` now hold it; `queue`: it waits in `queue` again. */
    to: z.enum(['agent', 'queue']),
    agent_id: idSchema.optional(),
    agent_name: z.string().min(1).max(100).optional(),
    queue: z.string().min(1).max(64).optional(),
    /** `transfer`: an agent moved it; `no_reply`: its agent did not reply in time. */
    reason: z.enum(['transfer', 'no_reply']),
  }),
} satisfies EventDefinition;

export type HandoffTransferredV1 = z.infer<typeof handoffTransferredV1.payload>;

/** `callback.requested` v1: a visitor who could not reach a person asks to be called back. */
export const callbackRequestedV1 = {
  type: 'callback.requested',
  version: 1,
  payload: z.discriminatedUnion('contact_kind', [
    z.object({
      contact_kind: z.literal('phone'),
      /** Digits with an optional leading +, spaces and dashes removed (7 to 15 digits). */
      contact: z.string().regex(/^\+?[0-9]{7,15}$/),
      note: storableText(500).optional(),
    }),
    z.object({
      contact_kind: z.literal('email'),
      contact: z.string().email().max(254),
      note: storableText(500).optional(),
    }),
  ]),
} satisfies EventDefinition;

export type CallbackRequestedV1 = z.infer<typeof callbackRequestedV1.payload>;

/**
 * `conversation.ended` v1: the conversation's channel closed for good: a
 * phone call hung up (a web conversation never ends: its visitor may come
 * back). A handoff still open for it ends with it.
 */
export const conversationEndedV1 = {
  type: 'conversation.ended',
  version: 1,
  payload: z.object({
    channel: z.literal('voice'),
    reason: z.literal('call_ended'),
  }),
} satisfies EventDefinition;

export type ConversationEndedV1 = z.infer<typeof conversationEndedV1.payload>;

/** `agent.replied` v1: a human agent's message to the end user (any agent reply takes ownership). */
export const agentRepliedV1 = {
  type: 'agent.replied',
  version: 1,
  payload: z.object({
    message_id: idSchema,
    /** The agent console's own id for the message: resends are idempotent. */
    client_message_id: idSchema,
    agent_id: idSchema,
    agent_name: z.string().min(1).max(100),
    text: storableText(4_000).pipe(z.string().min(1)),
  }),
} satisfies EventDefinition;

export type AgentRepliedV1 = z.infer<typeof agentRepliedV1.payload>;

/** The topic knowledge-base jobs travel on (keyed `kb:<document id>`, so a document's jobs stay in order). */
export const KNOWLEDGE_JOBS_TOPIC = 'knowledge-jobs';

/**
 * `knowledge.ingest.requested` v1: a document was uploaded or asked to be
 * ingested again. The embedding service chunks, embeds and stores it; the
 * document's text waits in Postgres, so a job that dies is simply run again.
 * The envelope's `conversation_id` carries the job's key, `kb:<document id>`.
 */
export const knowledgeIngestRequestedV1 = {
  type: 'knowledge.ingest.requested',
  version: 1,
  payload: z.object({
    document_id: idSchema,
    /** The content this job is for; a newer upload makes it moot. */
    content_hash: z.string().regex(/^[0-9a-f]{64}$/),
  }),
} satisfies EventDefinition;

export type KnowledgeIngestRequestedV1 = z.infer<typeof knowledgeIngestRequestedV1.payload>;

/** Every event definition Parley knows, all versions. */
export const allEvents: readonly EventDefinition[] = [
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
];
