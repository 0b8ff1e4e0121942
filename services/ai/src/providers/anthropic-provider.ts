import Anthropic from '@anthropic-ai/sdk';
import {
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../domain/provider.js';
import { DEFAULT_SYSTEM_PROMPT, type LlmProviderOptions } from './llm-options.js';
import { IncompleteStreamError } from './openai-provider.js';

/**
 * Anthropic's Messages API through the official SDK, streamed, with usage
 * (input tokens from `message_start`, output tokens from `message_delta`).
 * SDK retries off: the router retries.
 */
export class AnthropicProvider implements StreamingProvider {
  readonly name = 'anthropic';
  private readonly client: Anthropic;

  constructor(private readonly options: LlmProviderOptions) {
    this.client = new Anthropic({
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
    const stream = await this.client.messages.create(
      {
        model: this.options.model,
        max_tokens: this.options.maxOutputTokens ?? 512,
        stream: true,
        system: this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
        messages: [
          ...request.history.map((t) => ({
            role: t.role === 'user' ? ('user' as const) : ('assistant' as const),
            content: t.text,
          })),
          { role: 'user', content: request.text },
        ],
      },
      { signal: request.signal },
    );
    let inputTokens = 0;
    let finished = false;
    for await (const event of stream) {
      if (event.type === 'message_start') inputTokens = event.message.usage.input_tokens;
      else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
        yield { type: 'text', text: event.delta.text };
      else if (event.type === 'message_delta')
        yield { type: 'usage', usage: { inputTokens, outputTokens: event.usage.output_tokens } };
      else if (event.type === 'message_stop') finished = true;
    }
    if (!finished) throw new IncompleteStreamError(this.name);
  }
}
