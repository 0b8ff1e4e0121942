import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake answers the next requests:
 * - `ok`: streams `text` in `chunks` pieces, `chunkDelayMs` apart;
 * - `status`: answers `status` with the provider's JSON error (and `retryAfterSeconds`);
 * - `hang`: accepts the request and never answers;
 * - `drop`: streams the first `dropAfterChunks` pieces, then destroys the socket;
 * - `slow`: waits `firstTokenDelayMs` before the first piece;
 * - `tool`: calls the tool `name` with `args` (the provider's tool-call stream);
 *   once the request carries the tool's result, answers `text` followed by that result.
 */
export type FakeLlmBehaviour =
  | { mode: 'ok'; text?: string; chunks?: number; chunkDelayMs?: number }
  | { mode: 'status'; status: number; retryAfterSeconds?: number }
  | { mode: 'hang' }
  | { mode: 'drop'; text?: string; chunks?: number; dropAfterChunks: number }
  | { mode: 'slow'; firstTokenDelayMs: number; text?: string; chunks?: number }
  | { mode: 'tool'; name: string; args: Record<string, unknown>; text?: string };

/** One request the fake received. */
export interface FakeLlmRequest {
  provider: 'openai' | 'anthropic' | 'google' | 'openai-embeddings';
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A running fake; point an SDK's base-URL option at `baseUrl` (OpenAI: `${baseUrl}/v1`). */
export interface FakeLlm {
  baseUrl: string;
  requests: FakeLlmRequest[];
  /** Sets the behaviour for every following request. */
  behave(behaviour: FakeLlmBehaviour): void;
  close(): Promise<void>;
}

const DEFAULT_TEXT = 'Our support team is available Monday to Friday.';

/**
 * A loopback HTTP server speaking the real wire formats of OpenAI's Chat
 * Completions (`POST /v1/chat/completions`, SSE with `data: [DONE]`),
 * Anthropic's Messages (`POST /v1/messages`, SSE events `message_start` …
 * `message_stop`) and Google's Gemini API (`POST /v1beta/models/{m}:generateContent`
 * and `:streamGenerateContent?alt=sse`), non-streaming and streaming, with
 * usage. It can be made slow, rate-limited, failing, hanging or dropping the
 * connection midway, so the official SDKs can be tested against it. Also
 * OpenAI's embeddings (`POST /v1/embeddings`).
 */
export async function startFakeLlm(): Promise<FakeLlm> {
  let behaviour: FakeLlmBehaviour = { mode: 'ok' };
  const requests: FakeLlmRequest[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => resolve(data));
    });
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/v1/embeddings') {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      requests.push({
        provider: 'openai-embeddings',
        path: url.pathname,
        headers: req.headers,
        body,
      });
      const now = behaviour;
      if (now.mode === 'hang') return;
      if (now.mode === 'status') return error(res, 'openai', now.status, now.retryAfterSeconds);
      if (now.mode === 'slow') await sleep(now.firstTokenDelayMs);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(embeddings(body)));
      return;
    }
    const provider = url.pathname.startsWith('/v1/chat/completions')
      ? 'openai'
      : url.pathname.startsWith('/v1/messages')
        ? 'anthropic'
        : /\/models\/[^/]+:(stream)?[gG]enerateContent$/.test(url.pathname)
          ? 'google'
          : undefined;
    if (!provider) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    requests.push({ provider, path: url.pathname, headers: req.headers, body });
    const now = behaviour;
    if (now.mode === 'hang') return;
    if (now.mode === 'status') return error(res, provider, now.status, now.retryAfterSeconds);

    const streamed =
      provider === 'google'
        ? url.pathname.endsWith(':streamGenerateContent')
        : body.stream === true;
    let text = now.text ?? DEFAULT_TEXT;
    if (now.mode === 'tool') {
      const result = toolResult(provider, body);
      if (result === undefined) {
        if (!streamed) throw new Error('the fake calls tools only in streams');
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.end(toolCallFrames(provider, now.name, now.args, body));
        return;
      }
      text = `${now.text ?? 'Here is what I found:'} ${result}`;
    }
    const pieces = split(
      text,
      now.mode === 'drop' || now.mode === 'ok' || now.mode === 'slow' ? (now.chunks ?? 4) : 4,
    );
    const streaming = streamed;
    if (now.mode === 'slow') await sleep(now.firstTokenDelayMs);
    if (!streaming) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(whole(provider, text, body)));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const frames = streamFrames(provider, pieces, body);
    const dropAt = now.mode === 'drop' ? now.dropAfterChunks : Infinity;
    let sentPieces = 0;
    for (const frame of frames) {
      if (frame.piece) {
        if (sentPieces >= dropAt) {
          // Let what was written reach the client, then cut the connection without an end.
          await sleep(50);
          res.socket?.destroy();
          return;
        }
        sentPieces++;
        if (now.mode === 'ok' && now.chunkDelayMs) await sleep(now.chunkDelayMs);
      }
      await new Promise<void>((resolve) => res.write(frame.data, () => resolve()));
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    behave(next) {
      behaviour = next;
    },
    async close() {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * OpenAI's `POST /v1/embeddings` answer: a deterministic unit vector per
 * input (its words hashed into `dimensions` buckets, so texts sharing words
 * are similar), as floats or, when asked (the SDK's default), base64 of
 * little-endian float32.
 */
function embeddings(body: Record<string, unknown>) {
  const inputs = (Array.isArray(body.input) ? body.input : [body.input]).map(String);
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 1536;
  const data = inputs.map((text, index) => {
    const v = new Float32Array(dimensions);
    for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let h = 2166136261;
      for (const c of word) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
      v[(h >>> 0) % dimensions]! += 1;
    }
    const norm = Math.hypot(...v) || 1;
    for (let i = 0; i < v.length; i++) v[i]! /= norm;
    return {
      object: 'embedding',
      index,
      embedding:
        body.encoding_format === 'base64' ? Buffer.from(v.buffer).toString('base64') : [...v],
    };
  });
  const tokens = inputs.reduce((n, t) => n + t.split(/\s+/).length, 0);
  return {
    object: 'list',
    data,
    model: String(body.model ?? 'text-embedding-3-small'),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The result of the last tool call in the request, if it carries one. */
function toolResult(provider: string, body: Record<string, unknown>): string | undefined {
  if (provider === 'openai') {
    const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
    const last = messages.at(-1);
    return last?.role === 'tool' ? String(last.content) : undefined;
  }
  if (provider === 'anthropic') {
    const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
    const last = messages.at(-1);
    if (last?.role !== 'user' || !Array.isArray(last.content)) return undefined;
    const block = (last.content as Array<{ type: string; content?: unknown }>).find(
      (b) => b.type === 'tool_result',
    );
    return block ? String(block.content) : undefined;
  }
  const contents = (body.contents ?? []) as Array<{ parts?: Array<Record<string, unknown>> }>;
  const part = contents.at(-1)?.parts?.find((p) => p.functionResponse);
  if (!part) return undefined;
  const response = (part.functionResponse as { response?: Record<string, unknown> }).response ?? {};
  return String(response.output ?? response.error ?? '');
}

/** One server-sent event (`event:` line only where the protocol names events). */
function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** An OpenAI `chat.completion.chunk`: a delta, or (with `usage`) the closing usage chunk. */
function openAiChunk(model: string, delta: unknown, finish: string | null, usage?: unknown) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 0,
    model,
    choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  };
}

/** Anthropic's `message_start` event. */
function anthropicStart(model: string, id: string): string {
  return sse(
    {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: USAGE.input, output_tokens: 1 },
      },
    },
    'message_start',
  );
}

/** A model turn that calls one tool, in the provider's streaming wire format. */
function toolCallFrames(
  provider: string,
  name: string,
  args: Record<string, unknown>,
  body: Record<string, unknown>,
): string {
  const model = String(body.model ?? 'fake-model');
  const json = JSON.stringify(args);
  const halves = [json.slice(0, json.length >> 1), json.slice(json.length >> 1)];
  if (provider === 'openai') {
    const chunk = (delta: unknown, finish: string | null, usage?: unknown) =>
      openAiChunk(model, delta, finish, usage);
    return [
      sse(
        chunk(
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { index: 0, id: 'call_fake1', type: 'function', function: { name, arguments: '' } },
            ],
          },
          null,
        ),
      ),
      ...halves.map((h) =>
        sse(chunk({ tool_calls: [{ index: 0, function: { arguments: h } }] }, null)),
      ),
      sse(chunk({}, 'tool_calls')),
      sse(
        chunk(null, null, {
          prompt_tokens: USAGE.input,
          completion_tokens: 5,
          total_tokens: USAGE.input + 5,
        }),
      ),
      sse('[DONE]'),
    ].join('');
  }
  if (provider === 'anthropic') {
    return [
      anthropicStart(model, 'msg_fake_tool'),
      sse(
        {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'tool_use', id: 'toolu_fake1', name, input: {} },
        },
        'content_block_start',
      ),
      ...halves.map((h) =>
        sse(
          {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'input_json_delta', partial_json: h },
          },
          'content_block_delta',
        ),
      ),
      sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
      sse(
        {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 5 },
        },
        'message_delta',
      ),
      sse({ type: 'message_stop' }, 'message_stop'),
    ].join('');
  }
  return sse({
    candidates: [
      {
        content: { role: 'model', parts: [{ functionCall: { name, args } }] },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: USAGE.input,
      candidatesTokenCount: 5,
      totalTokenCount: USAGE.input + 5,
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function split(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function error(res: ServerResponse, provider: string, status: number, retryAfter?: number): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  const message = status === 429 ? 'Rate limit reached' : 'The server had an error';
  const body =
    provider === 'openai'
      ? {
          error: {
            message,
            type: status === 429 ? 'rate_limit_error' : 'server_error',
            code: null,
          },
        }
      : provider === 'anthropic'
        ? {
            type: 'error',
            error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message },
          }
        : {
            error: {
              code: status,
              message,
              status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL',
            },
          };
  res.writeHead(status, headers).end(JSON.stringify(body));
}

const USAGE = { input: 12, output: 9 };

function whole(provider: string, text: string, body: Record<string, unknown>): unknown {
  const model = String(body.model ?? 'fake-model');
  if (provider === 'openai')
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 0,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: USAGE.input,
        completion_tokens: USAGE.output,
        total_tokens: USAGE.input + USAGE.output,
      },
    };
  if (provider === 'anthropic')
    return {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: USAGE.input, output_tokens: USAGE.output },
    };
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: USAGE.input,
      candidatesTokenCount: USAGE.output,
      totalTokenCount: USAGE.input + USAGE.output,
    },
  };
}

function streamFrames(
  provider: string,
  pieces: string[],
  body: Record<string, unknown>,
): Array<{ data: string; piece: boolean }> {
  const model = String(body.model ?? 'fake-model');
  if (provider === 'openai') {
    const chunk = (delta: unknown, finish: string | null, usage?: unknown) =>
      openAiChunk(model, delta, finish, usage);
    return [
      { data: sse(chunk({ role: 'assistant', content: '' }, null)), piece: false },
      ...pieces.map((p) => ({ data: sse(chunk({ content: p }, null)), piece: true })),
      { data: sse(chunk({}, 'stop')), piece: false },
      {
        data: sse(
          chunk(null, null, {
            prompt_tokens: USAGE.input,
            completion_tokens: USAGE.output,
            total_tokens: USAGE.input + USAGE.output,
          }),
        ),
        piece: false,
      },
      { data: sse('[DONE]'), piece: false },
    ];
  }
  if (provider === 'anthropic') {
    return [
      { data: anthropicStart(model, 'msg_fake'), piece: false },
      {
        data: sse(
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          'content_block_start',
        ),
        piece: false,
      },
      ...pieces.map((p) => ({
        data: sse(
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } },
          'content_block_delta',
        ),
        piece: true,
      })),
      { data: sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'), piece: false },
      {
        data: sse(
          {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: USAGE.output },
          },
          'message_delta',
        ),
        piece: false,
      },
      { data: sse({ type: 'message_stop' }, 'message_stop'), piece: false },
    ];
  }
  return pieces.map((p, i) => ({
    data: sse({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: p }] },
          index: 0,
          ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}),
        },
      ],
      ...(i === pieces.length - 1
        ? {
            usageMetadata: {
              promptTokenCount: USAGE.input,
              candidatesTokenCount: USAGE.output,
              totalTokenCount: USAGE.input + USAGE.output,
            },
          }
        : {}),
    }),
    piece: true,
  }));
}
