import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classify } from '@parley/resilience';
import { startFakeLlm, type FakeLlm } from '@parley/testing';
import {
  collect,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
} from '../src/domain/provider.js';
import { AnthropicProvider } from '../src/providers/anthropic-provider.js';
import { GoogleProvider } from '../src/providers/google-provider.js';
import { OpenAiProvider } from '../src/providers/openai-provider.js';
import { ToolRegistry, defineTool, requestHumanTool } from '../src/domain/tools.js';
import { z } from 'zod';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.behave({ mode: 'ok' });
});

const KEY = 'sk-test-key-0123456789';
const providers: Array<[string, () => StreamingProvider, (h: Record<string, unknown>) => unknown]> =
  [
    [
      'openai',
      () => new OpenAiProvider({ apiKey: KEY, model: 'gpt-test', baseUrl: `${fake.baseUrl}/v1` }),
      (h) => h.authorization,
    ],
    [
      'anthropic',
      () => new AnthropicProvider({ apiKey: KEY, model: 'claude-test', baseUrl: fake.baseUrl }),
      (h) => h['x-api-key'] ?? h.authorization,
    ],
    [
      'google',
      () => new GoogleProvider({ apiKey: KEY, model: 'gemini-test', baseUrl: fake.baseUrl }),
      (h) => h['x-goog-api-key'],
    ],
  ];

function request(signal = new AbortController().signal): ReplyRequest {
  return {
    tenantId: 't',
    conversationId: 'c',
    text: 'When are you open?',
    history: [
      { role: 'user', text: 'hello' },
      { role: 'assistant', text: 'Hi! How can I help?' },
    ],
    signal,
  };
}

describe.each(providers)('%s provider on its official SDK', (name, make, keyOf) => {
  it('streams the answer in pieces, then the token usage, with the key and the whole conversation', async () => {
    const chunks: ReplyChunk[] = [];
    for await (const chunk of make().stream(request())) chunks.push(chunk);
    const text = chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');
    expect(text).toBe('Our support team is available Monday to Friday.');
    expect(chunks.filter((c) => c.type === 'text').length).toBeGreaterThan(1);
    expect(chunks.at(-1)).toEqual({ type: 'usage', usage: { inputTokens: 12, outputTokens: 9 } });
    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent!.provider).toBe(name);
    expect(String(keyOf(sent!.headers))).toContain(KEY);
    const body = JSON.stringify(sent!.body);
    for (const part of ['hello', 'Hi! How can I help?', 'When are you open?', 'customer-support'])
      expect(body).toContain(part);
  });

  it('collects a whole reply', async () => {
    expect(await make().reply(request())).toEqual({
      text: 'Our support team is available Monday to Friday.',
      usage: { inputTokens: 12, outputTokens: 9 },
    });
  });

  it('fails once, without retrying inside the SDK, on a 429, reporting Retry-After', async () => {
    fake.behave({ mode: 'status', status: 429, retryAfterSeconds: 2 });
    const err = await collect(make().stream(request())).catch((e: unknown) => e);
    expect(classify(err)).toMatchObject({ kind: 'rate_limited', retryable: true, status: 429 });
    if (name !== 'google') expect(classify(err).retryAfterMs).toBe(2_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('fails once on a 500, as a retryable server error', async () => {
    fake.behave({ mode: 'status', status: 500 });
    const err = await collect(make().stream(request())).catch((e: unknown) => e);
    expect(classify(err)).toMatchObject({ kind: 'server', retryable: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('throws a retryable error when the connection drops midway, after the text it got', async () => {
    fake.behave({ mode: 'drop', dropAfterChunks: 2, chunks: 4 });
    const got: string[] = [];
    const err = await (async () => {
      for await (const chunk of make().stream(request()))
        if (chunk.type === 'text') got.push(chunk.text);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(classify(err).retryable).toBe(true);
    expect(got.join('').length).toBeGreaterThan(0);
    expect(got.join('')).not.toBe('Our support team is available Monday to Friday.');
  });

  it('gives up on a hanging request as soon as the caller aborts', async () => {
    fake.behave({ mode: 'hang' });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const started = Date.now();
    await expect(collect(make().stream(request(abort.signal)))).rejects.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

/** A lookup tool that records its calls. */
function orderTool(calls: unknown[]) {
  return defineTool({
    name: 'order_status',
    description: 'The status of an order by its number.',
    args: z.object({ orderId: z.string().regex(/^\d+$/) }),
    action: false,
    run: async ({ orderId }) => {
      calls.push(orderId);
      return { content: `Order ${orderId} shipped on Monday.` };
    },
  });
}

describe.each(providers)('%s provider calling tools', (name, make) => {
  it('calls the tool with the arguments the model streamed, sends the result back and streams the final answer', async () => {
    const calls: unknown[] = [];
    const tools = new ToolRegistry([orderTool(calls), requestHumanTool]).toolBox(
      { tenantId: 't', conversationId: 'c', signal: new AbortController().signal },
      { actions: true },
    );
    fake.behave({ mode: 'tool', name: 'order_status', args: { orderId: '4711' }, text: 'Update:' });
    const reply = await collect(make().stream({ ...request(), tools }));
    expect(calls).toEqual(['4711']);
    expect(reply.text).toBe('Update: Order 4711 shipped on Monday.');
    expect(fake.requests).toHaveLength(2);
    const first = JSON.stringify(fake.requests[0]!.body);
    expect(first).toContain('order_status');
    expect(first).toContain('request_human');
    // The second request carries the call and its result in the provider's own format.
    const second = fake.requests[1]!.body;
    const marker = { openai: 'tool_call_id', anthropic: 'tool_result', google: 'functionResponse' }[
      name as 'openai'
    ];
    expect(JSON.stringify(second)).toContain(marker);
    expect(reply.usage!.inputTokens).toBe(24); // both turns counted
  });

  it('asks for a human through the request_human tool', async () => {
    const tools = new ToolRegistry().toolBox(
      { tenantId: 't', conversationId: 'c', signal: new AbortController().signal },
      { actions: true },
    );
    fake.behave({
      mode: 'tool',
      name: 'request_human',
      args: { reason: 'wants a person' },
      text: 'OK.',
    });
    const reply = await collect(make().stream({ ...request(), tools }));
    expect(reply.handoff).toBe('user_request');
    expect(reply.text).toMatch(/^OK\. A member of the support team/);
  });

  it('tells the model about bad arguments instead of running the tool', async () => {
    const calls: unknown[] = [];
    const tools = new ToolRegistry([orderTool(calls)]).toolBox(
      { tenantId: 't', conversationId: 'c', signal: new AbortController().signal },
      { actions: true },
    );
    fake.behave({
      mode: 'tool',
      name: 'order_status',
      args: { orderId: 'DROP TABLE' },
      text: 'Hmm:',
    });
    const reply = await collect(make().stream({ ...request(), tools }));
    expect(calls).toEqual([]);
    expect(reply.text).toMatch(/^Hmm: Invalid arguments/);
  });
});

describe('ToolRegistry', () => {
  const context = { tenantId: 't', conversationId: 'c', signal: new AbortController().signal };
  it('offers action tools only while actions are allowed (below degradation L3)', () => {
    const refund = defineTool({
      name: 'issue_refund',
      description: 'Refund an order.',
      args: z.object({ orderId: z.string() }),
      action: true,
      run: async () => ({ content: 'refunded' }),
    });
    const registry = new ToolRegistry([refund, requestHumanTool]);
    const names = (actions: boolean) =>
      registry.toolBox(context, { actions })!.definitions.map((d) => d.name);
    expect(names(true)).toEqual(['issue_refund', 'request_human']);
    expect(names(false)).toEqual(['request_human']);
  });

  it('answers unknown tools and invalid JSON with errors the model can read', async () => {
    const box = new ToolRegistry().toolBox(context, { actions: true })!;
    expect(await box.run({ id: '1', name: 'rm_rf', arguments: '{}' })).toMatchObject({
      error: true,
    });
    expect(await box.run({ id: '2', name: 'request_human', arguments: '{oops' })).toMatchObject({
      error: true,
      content: 'The arguments are not valid JSON',
    });
  });

  it('gives the JSON schema of the arguments', () => {
    const [definition] = new ToolRegistry([requestHumanTool]).toolBox(context, {
      actions: true,
    })!.definitions;
    expect(definition!.parameters).toMatchObject({
      type: 'object',
      properties: { reason: { type: 'string', maxLength: 200 } },
      required: ['reason'],
    });
  });

  it('tells the time in a time zone, and refuses an unknown one', async () => {
    const box = new ToolRegistry().toolBox(
      { ...context, now: () => new Date('2026-11-26T09:30:00Z') },
      { actions: true },
    )!;
    const paris = await box.run({
      id: '1',
      name: 'get_current_time',
      arguments: '{"timeZone":"Europe/Paris"}',
    });
    expect(paris.content).toMatch(/Thursday,? 26 November 2026.*10:30.*Europe\/Paris/);
    expect(
      await box.run({
        id: '2',
        name: 'get_current_time',
        arguments: '{"timeZone":"Mars/Olympus"}',
      }),
    ).toMatchObject({ error: true });
  });
});
