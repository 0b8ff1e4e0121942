import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, Tool as AnthropicTool } from '@anthropic-ai/sdk/resources/messages';
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
import { IncompleteStreamError } from './openai-provider.js';
import { UsageTotal, callId, runToolCalls } from './tool-loop.js';

/**
 * Anthropic's Messages API through the official SDK, streamed, with usage
 * (input tokens from `message_start`, output tokens from `message_delta`) and
 * tool use (`tool_use` blocks whose input arrives as JSON pieces; results go
 * back as `tool_result` blocks, up to three rounds). SDK retries off: the
 * router retries.
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
    const messages: MessageParam[] = [
      ...request.history.map((t) => ({
        role: t.role === 'user' ? ('user' as const) : ('assistant' as const),
        content: t.text,
      })),
      { role: 'user', content: request.text },
    ];
    const tools: AnthropicTool[] | undefined = request.tools?.definitions.map((d) => ({
      name: d.name,
      description: d.description,
      input_schema: { type: 'object', ...d.parameters },
    }));
    const usage = new UsageTotal();
    for (let round = 0; ; round++) {
      const offer = tools?.length && round < MAX_TOOL_ROUNDS ? { tools } : {};
      const stream = await this.client.messages.create(
        {
          model: this.options.model,
          max_tokens: this.options.maxOutputTokens ?? 512,
          stream: true,
          system: knowledgePrompt(
            this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
            request.passages,
          ),
          messages,
          ...offer,
        },
        { signal: request.signal },
      );
      let finished = false;
      let text = '';
      const calls = new Map<number, ToolCall>();
      for await (const event of stream) {
        if (event.type === 'message_start')
          usage.add({ inputTokens: event.message.usage.input_tokens });
        else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use')
          calls.set(event.index, {
            id: event.content_block.id,
            name: event.content_block.name,
            arguments: '',
          });
        else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
          text += event.delta.text;
          yield { type: 'text', text: event.delta.text };
        } else if (
          event.type === 'content_block_delta' &&
          event.delta.type === 'input_json_delta'
        ) {
          const call = calls.get(event.index);
          if (call) call.arguments += event.delta.partial_json;
        } else if (event.type === 'message_delta')
          usage.add({ outputTokens: event.usage.output_tokens });
        else if (event.type === 'message_stop') finished = true;
      }
      if (!finished) throw new IncompleteStreamError(this.name);
      if (calls.size === 0) break;
      const made = [...calls.values()].map((c) => ({ ...c, id: callId(c.id) }));
      const results = yield* runToolCalls(made, request.tools);
      messages.push(
        {
          role: 'assistant',
          content: [
            ...(text ? [{ type: 'text' as const, text }] : []),
            ...made.map((c) => ({
              type: 'tool_use' as const,
              id: c.id,
              name: c.name,
              input: parseInput(c.arguments),
            })),
          ],
        },
        {
          role: 'user',
          content: made.map((c, i) => ({
            type: 'tool_result' as const,
            tool_use_id: c.id,
            content: results[i]!.content,
            ...(results[i]!.error ? { is_error: true } : {}),
          })),
        },
      );
    }
    yield usage.chunk();
  }
}

function parseInput(json: string): Record<string, unknown> {
  try {
    const value: unknown = json.trim() ? JSON.parse(json) : {};
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
