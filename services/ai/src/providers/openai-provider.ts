import OpenAI from 'openai';
import {
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../domain/provider.js';
import { DEFAULT_SYSTEM_PROMPT, type LlmProviderOptions } from './llm-options.js';

/**
 * OpenAI's Chat Completions through the official SDK, streamed, with usage.
 * The SDK's own retries and timeout are off: the router is the only retry loop
 * and sets the time limits.
 */
export class OpenAiProvider implements StreamingProvider {
  readonly name = 'openai';
  private readonly client: OpenAI;

  constructor(private readonly options: LlmProviderOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      maxRetries: 0,
      timeout: 600_000,
    });
  }

  reply(request: ReplyRequest): Promise<Reply> {
    return collect(this.stream(request));
  }

  async *stream(request: ReplyRequest): AsyncIterable<ReplyChunk> {
    const stream = await this.client.chat.completions.create(
      {
        model: this.options.model,
        stream: true,
        stream_options: { include_usage: true },
        max_completion_tokens: this.options.maxOutputTokens ?? 512,
        messages: [
          { role: 'system', content: this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT },
          ...request.history.map((t) => ({
            role: t.role === 'user' ? ('user' as const) : ('assistant' as const),
            content: t.text,
          })),
          { role: 'user', content: request.text },
        ],
      },
      { signal: request.signal },
    );
    let finished = false;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) yield { type: 'text', text: choice.delta.content };
      if (choice?.finish_reason) finished = true;
      if (chunk.usage)
        yield {
          type: 'usage',
          usage: {
            inputTokens: chunk.usage.prompt_tokens,
            outputTokens: chunk.usage.completion_tokens,
          },
        };
    }
    if (!finished) throw new IncompleteStreamError(this.name);
  }
}

/** The stream ended without the provider saying the answer was complete. */
export class IncompleteStreamError extends Error {
  override readonly name = 'IncompleteStreamError';
  /** Retryable like a network error: another provider may finish the answer. */
  readonly code = 'ECONNRESET';
  constructor(provider: string) {
    super(`${provider} ended the stream before the answer was complete`);
  }
}
