import OpenAI from 'openai';
import type {
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import {
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../domain/provider.js';
import { MAX_TOOL_ROUNDS, type ToolCall } from '../domain/tools.js';
import { DEFAULT_SYSTEM_PROMPT, type LlmProviderOptions } from './llm-options.js';
import { knowledgePrompt } from '../domain/knowledge.js';
import { UsageTotal, callId, runToolCalls } from './tool-loop.js';

/**
 * OpenAI's Chat Completions through the official SDK, streamed, with usage
 * and tool calling (the calls' arguments arrive in pieces and are joined; the
 * results go back as `tool` messages, up to three rounds). The SDK's own
 * retries and timeout are off: the router is the only retry loop and sets the
 * time limits.
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
    const messages: ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content: knowledgePrompt(
          this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
          request.passages,
        ),
      },
      ...request.history.map((t) => ({
        role: t.role === 'user' ? ('user' as const) : ('assistant' as const),
        content: t.text,
      })),
      { role: 'user', content: request.text },
    ];
    const tools: ChatCompletionTool[] | undefined = request.tools?.definitions.map((d) => ({
      type: 'function',
      function: { name: d.name, description: d.description, parameters: d.parameters },
    }));
    const usage = new UsageTotal();
    for (let round = 0; ; round++) {
      // The last round offers no tools, so the model has to answer in words.
      const offer = tools?.length && round < MAX_TOOL_ROUNDS ? { tools } : {};
      const stream = await this.client.chat.completions.create(
        {
          model: this.options.model,
          stream: true,
          stream_options: { include_usage: true },
          max_completion_tokens: this.options.maxOutputTokens ?? 512,
          messages,
          ...offer,
        },
        { signal: request.signal },
      );
      let finish: string | null = null;
      let text = '';
      const calls = new Map<number, ToolCall>();
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta?.content) {
          text += choice.delta.content;
          yield { type: 'text', text: choice.delta.content };
        }
        for (const piece of choice?.delta?.tool_calls ?? []) {
          const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
          if (piece.id) call.id = piece.id;
          if (piece.function?.name) call.name += piece.function.name;
          if (piece.function?.arguments) call.arguments += piece.function.arguments;
          calls.set(piece.index, call);
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage)
          usage.add({
            inputTokens: chunk.usage.prompt_tokens,
            outputTokens: chunk.usage.completion_tokens,
          });
      }
      if (!finish) throw new IncompleteStreamError(this.name);
      if (calls.size === 0) break;
      const made = [...calls.values()].map((c) => ({ ...c, id: callId(c.id) }));
      const results = yield* runToolCalls(made, request.tools);
      messages.push(
        {
          role: 'assistant',
          content: text || null,
          tool_calls: made.map((c) => ({
            id: c.id,
            type: 'function' as const,
            function: { name: c.name, arguments: c.arguments },
          })),
        },
        ...made.map((c, i) => ({
          role: 'tool' as const,
          tool_call_id: c.id,
          content: results[i]!.content,
        })),
      );
    }
    yield usage.chunk();
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
