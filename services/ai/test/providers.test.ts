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
