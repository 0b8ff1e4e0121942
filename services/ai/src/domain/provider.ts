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
}

/** A provider's answer. */
export interface Reply {
  text: string;
}

/**
 * A source of assistant replies: the offline FAQ here; the LLM providers and
 * the router that fails over between them implement the same interface.
 */
export interface ReplyProvider {
  readonly name: string;
  reply(request: ReplyRequest): Promise<Reply>;
}
