/** Settings of one LLM provider (from configuration; the key is a secret and never logged). */
export interface LlmProviderOptions {
  apiKey: string;
  model: string;
  /** The provider's API root; tests point it at a local server speaking the same protocol. */
  baseUrl?: string;
  /** Longest answer. @default 512 */
  maxOutputTokens?: number;
  /** The assistant's instructions, sent as the system prompt. */
  systemPrompt?: string;
}

/** The default system prompt. */
export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful, concise customer-support assistant. Answer in the language of the question. ' +
  'If you cannot help, say so and offer to hand the conversation to a human.';
