import { GoogleGenAI } from '@google/genai';
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
 * Google's Gemini API through `@google/genai`, the successor of the deprecated
 * `@google/generative-ai`; streamed, with usage. The SDK's retries are off
 * (one attempt): the router retries.
 */
export class GoogleProvider implements StreamingProvider {
  readonly name = 'google';
  private readonly client: GoogleGenAI;

  constructor(private readonly options: LlmProviderOptions) {
    this.client = new GoogleGenAI({
      apiKey: options.apiKey,
      httpOptions: {
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
        retryOptions: { attempts: 1 },
      },
    });
  }

  reply(request: ReplyRequest): Promise<Reply> {
    return collect(this.stream(request));
  }

  async *stream(request: ReplyRequest): AsyncIterable<ReplyChunk> {
    const stream = await this.client.models.generateContentStream({
      model: this.options.model,
      contents: [
        ...request.history.map((t) => ({
          role: t.role === 'user' ? 'user' : 'model',
          parts: [{ text: t.text }],
        })),
        { role: 'user', parts: [{ text: request.text }] },
      ],
      config: {
        systemInstruction: this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
        maxOutputTokens: this.options.maxOutputTokens ?? 512,
        abortSignal: request.signal,
      },
    });
    let finished = false;
    for await (const chunk of stream) {
      const text = chunk.text;
      if (text) yield { type: 'text', text };
      if (chunk.candidates?.[0]?.finishReason) finished = true;
      if (chunk.usageMetadata?.candidatesTokenCount !== undefined)
        yield {
          type: 'usage',
          usage: {
            inputTokens: chunk.usageMetadata.promptTokenCount ?? 0,
            outputTokens: chunk.usageMetadata.candidatesTokenCount,
          },
        };
    }
    if (!finished) throw new IncompleteStreamError(this.name);
  }
}
