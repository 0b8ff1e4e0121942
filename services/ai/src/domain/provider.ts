import type { AnswerSource, KnowledgePassage } from './knowledge.js';
import type { TenantAiSettings } from '@parley/contracts';
import type { ToolBox } from './tools.js';

/** One earlier turn of the conversation. */
export interface Turn {
  role: 'user' | 'assistant' | 'agent' | 'system';
  text: string;
}

/** What a provider is asked to answer. */
export interface ReplyRequest {
  tenantId: string;
  conversationId: string;
  /** The user message to answer. */
  text: string;
  /** Earlier turns, oldest first. */
  history: Turn[];
  /** Aborted when the answer is no longer wanted (shutdown, timeout). */
  signal: AbortSignal;
  /** Whether actions (tools that change backend systems) may run; off at degradation L3 and worse. @default true */
  actions?: boolean;
  /** The tools the model may call in this answer (providers with tool calling use them). */
  tools?: ToolBox;
  /** The tenant's own settings (budget, provider weights, time limits, tools) over the defaults. */
  settings?: TenantAiSettings;
  /** What the call is for: an answer, or a short intent classification (its own time limit). @default 'answer' */
  purpose?: 'answer' | 'intent';
  /** Whether knowledge retrieval may be used; off at degradation L2 and worse. @default true */
  knowledge?: boolean;
  /** The customer is one of the tenant's VIPs (a person takes over before the assistant answers). */
  customerVip?: boolean;
  /** Passages of the tenant's knowledge base to answer from (numbered in the prompt for citation). */
  passages?: KnowledgePassage[];
  /** The tenant's knowledge version (the response cache keys on it). */
  knowledgeVersion?: number;
}

/** Tokens a call used, recorded per tenant. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** A provider's answer. */
export interface Reply {
  text: string;
  usage?: TokenUsage;
  /** Which provider answered (the router says; a single provider may leave it out). */
  provider?: string;
  /** A human should take over, and why. */
  handoff?: HandoffReason;
  /** Which tenant rule, when the handoff is a `tenant_rule`. */
  handoffRule?: TenantRule;
  /** The knowledge-base documents the answer came from. */
  sources?: AnswerSource[];
}

/** Why an answer hands the conversation to a human. */
export type HandoffReason =
  'bot_unavailable' | 'degraded' | 'user_request' | 'tenant_rule' | 'low_confidence';

/** The tenant rules that hand a conversation over: its keywords, its VIP customers. */
export type TenantRule = 'keyword' | 'vip';

/** One piece of a streamed answer: text as it arrives, then the usage once known. */
export type ReplyChunk =
  | { type: 'text'; text: string }
  | { type: 'usage'; usage: TokenUsage }
  /** Which provider the text that follows comes from (the router emits it on each switch). */
  | { type: 'provider'; name: string }
  /** The text so far is abandoned (the stream broke and nobody could continue it); another answer follows. */
  | { type: 'incomplete'; reason: string }
  /** The answer hands the conversation to a human. */
  | { type: 'handoff'; reason: HandoffReason; rule?: TenantRule }
  /** The model called a tool (the answer depends on it, so it is not cached). */
  | { type: 'tool'; name: string; error: boolean }
  /** The answer came from these knowledge-base documents. */
  | { type: 'sources'; sources: AnswerSource[] };

/**
 * A source of assistant replies: the offline FAQ here; the LLM providers and
 * the router that fails over between them implement the same interface.
 */
export interface ReplyProvider {
  readonly name: string;
  reply(request: ReplyRequest): Promise<Reply>;
}

/**
 * A provider that can stream. The iterator ends only after the provider said
 * the answer is complete; a connection that drops midway throws, so a
 * truncated answer never looks finished.
 */
export interface StreamingProvider extends ReplyProvider {
  stream(request: ReplyRequest): AsyncIterable<ReplyChunk>;
}

/** Collects a stream into one reply (text after the last `incomplete`). */
export async function collect(stream: AsyncIterable<ReplyChunk>): Promise<Reply> {
  let text = '';
  let usage: TokenUsage | undefined;
  let provider: string | undefined;
  let handoff: HandoffReason | undefined;
  for await (const chunk of stream) {
    if (chunk.type === 'text') text += chunk.text;
    else if (chunk.type === 'usage') usage = chunk.usage;
    else if (chunk.type === 'provider') provider = chunk.name;
    else if (chunk.type === 'incomplete') text = '';
    else if (chunk.type === 'handoff') handoff = chunk.reason;
  }
  return {
    text,
    ...(usage ? { usage } : {}),
    ...(provider ? { provider } : {}),
    ...(handoff ? { handoff } : {}),
  };
}

/** Every provider failed or was unavailable; `partial` is what was already streamed. */
export class AllProvidersFailedError extends Error {
  override readonly name = 'AllProvidersFailedError';
  constructor(
    readonly partial: string,
    options?: { cause?: unknown },
  ) {
    super(
      partial ? 'every provider failed midway through the answer' : 'every provider failed',
      options,
    );
  }
}
