import { GoogleGenAI, type Content, type FunctionCall } from '@google/genai';
import {
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../domain/provider.js';
import { MAX_TOOL_ROUNDS } from '../domain/tools.js';
import { DEFAULT_SYSTEM_PROMPT, type LlmProviderOptions } from './llm-options.js';
import { knowledgePrompt } from '../domain/knowledge.js';
import { IncompleteStreamError } from './openai-provider.js';
import { UsageTotal, callId, runToolCalls } from './tool-loop.js';

/**
 * Google's Gemini API through `@google/genai`, the successor of the deprecated
 * `@google/generative-ai`; streamed, with usage and function calling (results
 * go back as `functionResponse` parts, up to three rounds). The SDK's retries
 * are off (one attempt): the router retries.
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
    const contents: Content[] = [
      ...request.history.map((t) => ({
        role: t.role === 'user' ? 'user' : 'model',
        parts: [{ text: t.text }],
      })),
      { role: 'user', parts: [{ text: request.text }] },
    ];
    const declarations = request.tools?.definitions.map((d) => ({
      name: d.name,
      description: d.description,
      parametersJsonSchema: d.parameters,
    }));
    const usage = new UsageTotal();
    for (let round = 0; ; round++) {
      const offer =
        declarations?.length && round < MAX_TOOL_ROUNDS
          ? { tools: [{ functionDeclarations: declarations }] }
          : {};
      const stream = await this.client.models.generateContentStream({
        model: this.options.model,
        contents,
        config: {
          systemInstruction: knowledgePrompt(
            this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
            request.passages,
          ),
          maxOutputTokens: this.options.maxOutputTokens ?? 512,
          abortSignal: request.signal,
          ...offer,
        },
      });
      let finished = false;
      let text = '';
      const calls: FunctionCall[] = [];
      let turnUsage = { inputTokens: 0, outputTokens: 0 };
      for await (const chunk of stream) {
        const piece = chunk.candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('');
        if (piece) {
          text += piece;
          yield { type: 'text', text: piece };
        }
        calls.push(...(chunk.functionCalls ?? []));
        if (chunk.candidates?.[0]?.finishReason) finished = true;
        // Each chunk reports the turn's running totals: keep the last.
        if (chunk.usageMetadata?.candidatesTokenCount !== undefined)
          turnUsage = {
            inputTokens: chunk.usageMetadata.promptTokenCount ?? 0,
            outputTokens: chunk.usageMetadata.candidatesTokenCount,
          };
      }
      usage.add(turnUsage);
      if (!finished) throw new IncompleteStreamError(this.name);
      if (calls.length === 0) break;
      const made = calls.map((c) => ({
        id: callId(c.id),
        name: c.name ?? '',
        arguments: JSON.stringify(c.args ?? {}),
      }));
      const results = yield* runToolCalls(made, request.tools);
      contents.push(
        {
          role: 'model',
          parts: [...(text ? [{ text }] : []), ...calls.map((c) => ({ functionCall: c }))],
        },
        {
          role: 'user',
          parts: made.map((c, i) => ({
            functionResponse: {
              ...(calls[i]!.id ? { id: calls[i]!.id } : {}),
              name: c.name,
              response: results[i]!.error
                ? { error: results[i]!.content }
                : { output: results[i]!.content },
            },
          })),
        },
      );
    }
    yield usage.chunk();
  }
}
