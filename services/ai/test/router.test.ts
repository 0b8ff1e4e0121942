import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryCacheStore } from '@parley/embedded';
import { startFakeLlm, type FakeLlm } from '@parley/testing';
import { collect, type ReplyChunk, type ReplyRequest } from '../src/domain/provider.js';
import { AnthropicProvider } from '../src/providers/anthropic-provider.js';
import { GoogleProvider } from '../src/providers/google-provider.js';
import { OpenAiProvider } from '../src/providers/openai-provider.js';
import { HealthProber } from '../src/router/health-prober.js';
import { AllProvidersFailedError } from '../src/domain/provider.js';
import { LlmRouter, type RouterEvent } from '../src/router/llm-router.js';
import { ProviderHealth } from '../src/router/provider-health.js';

/** One fake server per provider, so each can misbehave on its own. */
let openai: FakeLlm;
let anthropic: FakeLlm;
let google: FakeLlm;
beforeAll(async () => {
  [openai, anthropic, google] = await Promise.all([startFakeLlm(), startFakeLlm(), startFakeLlm()]);
});
afterAll(() => Promise.all([openai, anthropic, google].map((f) => f.close())));
beforeEach(() => {
  for (const f of [openai, anthropic, google]) {
    f.requests.length = 0;
    f.behave({ mode: 'ok' });
  }
});

function providers() {
  return [
    new OpenAiProvider({ apiKey: 'k', model: 'gpt', baseUrl: `${openai.baseUrl}/v1` }),
    new AnthropicProvider({ apiKey: 'k', model: 'claude', baseUrl: anthropic.baseUrl }),
    new GoogleProvider({ apiKey: 'k', model: 'gemini', baseUrl: google.baseUrl }),
  ];
}

/** A router with the default weights 0.7 / 0.2 / 0.1 whose random choice always lands on the primary. */
function router(
  store = new MemoryCacheStore(),
  extra: Partial<ConstructorParameters<typeof LlmRouter>[0]> = {},
) {
  const events: RouterEvent[] = [];
  const health = new ProviderHealth(store.client());
  const [o, a, g] = providers();
  const r = new LlmRouter({
    providers: [
      { provider: o!, weight: 0.7 },
      { provider: a!, weight: 0.2 },
      { provider: g!, weight: 0.1 },
    ],
    health,
    random: () => 0,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { router: r, health, events };
}

const ask = (text = 'When are you open?'): ReplyRequest => ({
  tenantId: 't',
  conversationId: 'c',
  text,
  history: [],
  signal: new AbortController().signal,
});

describe('LlmRouter on the three SDKs against local servers', () => {
  it('spreads answers by weight, 0.7 / 0.2 / 0.1', async () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const { router: r } = router(new MemoryCacheStore(), { random });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const { provider } = await r.reply(ask());
      counts[provider!] = (counts[provider!] ?? 0) + 1;
    }
    expect(counts.openai).toBeGreaterThan(120);
    expect(counts.openai).toBeLessThan(160);
    expect(counts.anthropic).toBeGreaterThan(25);
    expect(counts.google).toBeGreaterThan(8);
  });

  it('replaces a hanging primary within 5 s and skips it on the next answer', async () => {
    openai.behave({ mode: 'hang' });
    const { router: r, health, events } = router();
    const started = Date.now();
    const first = await r.reply(ask());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(first.provider).toBe('anthropic');
    expect(events[0]).toMatchObject({ kind: 'failover', from: 'openai', reason: 'timeout' });
    expect(await health.isHealthy('openai')).toBe(false);
    const again = Date.now();
    expect((await r.reply(ask())).provider).toBe('anthropic');
    expect(Date.now() - again).toBeLessThan(1_000);
    expect(openai.requests).toHaveLength(1);
  }, 10_000);

  it('fails over at once on a 429 or a 500, marking the provider unhealthy with the reason', async () => {
    openai.behave({ mode: 'status', status: 429, retryAfterSeconds: 5 });
    anthropic.behave({ mode: 'status', status: 500 });
    const { router: r, health } = router();
    expect((await r.reply(ask())).provider).toBe('google');
    expect(await health.get('openai')).toMatchObject({ reason: 'rate_limited' });
    expect(await health.get('anthropic')).toMatchObject({ reason: 'server' });
  });

  it('continues an answer on the next provider when the first drops midway, from the partial text', async () => {
    openai.behave({
      mode: 'drop',
      text: 'Our support team is available ',
      chunks: 4,
      dropAfterChunks: 2,
    });
    anthropic.behave({ mode: 'ok', text: 'Monday to Friday.' });
    const { router: r, events } = router();
    const chunks: ReplyChunk[] = [];
    for await (const c of r.stream(ask())) chunks.push(c);
    const text = chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');
    const firstPart = text.slice(0, text.indexOf('Monday'));
    expect(firstPart.length).toBeGreaterThan(0);
    expect(text.endsWith('Monday to Friday.')).toBe(true);
    expect(
      chunks.filter((c) => c.type === 'provider').map((c) => (c as { name: string }).name),
    ).toEqual(['openai', 'anthropic']);
    expect(events[0]).toMatchObject({ kind: 'failover', from: 'openai', afterText: true });
    const sent = JSON.stringify(anthropic.requests[0]!.body);
    expect(sent).toContain(firstPart.trim());
    expect(sent).toContain('Continue your previous answer');
  });

  it('never ends a truncated answer as a clean finish: it throws with the partial text', async () => {
    for (const f of [openai, anthropic, google])
      f.behave({ mode: 'drop', chunks: 4, dropAfterChunks: 1 });
    const { router: r } = router();
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of r.stream(ask())) if (c.type === 'text') got.push(c.text);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllProvidersFailedError);
    expect((err as AllProvidersFailedError).partial).toBe(got.join(''));
    expect(got.length).toBe(3);
  });

  it('waits a bounded time for the earliest provider to come back when all are cooling down', async () => {
    const store = new MemoryCacheStore();
    const shortCooldown = new ProviderHealth(store.client(), { cooldownMs: 300 });
    for (const name of ['openai', 'anthropic', 'google'])
      await shortCooldown.markUnhealthy(name, 'test');
    const { router: patient } = router(store, { maxWaitForRecoveryMs: 2_000 });
    const started = Date.now();
    expect((await patient.reply(ask())).provider).toBe('openai');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    const longCooldown = new ProviderHealth(store.client(), { cooldownMs: 60_000 });
    for (const name of ['openai', 'anthropic', 'google'])
      await longCooldown.markUnhealthy(name, 'test');
    const { router: impatient } = router(store, { maxWaitForRecoveryMs: 100 });
    const failed = Date.now();
    await expect(impatient.reply(ask())).rejects.toBeInstanceOf(AllProvidersFailedError);
    expect(Date.now() - failed).toBeLessThan(500);
  });

  it("shares health between replicas: one replica's failure makes the other skip the provider", async () => {
    openai.behave({ mode: 'status', status: 503 });
    const store = new MemoryCacheStore();
    const one = router(store);
    const two = router(store);
    await one.router.reply(ask());
    openai.requests.length = 0;
    expect((await two.router.reply(ask())).provider).toBe('anthropic');
    expect(openai.requests).toHaveLength(0);
  });
});

describe('HealthProber', () => {
  it('restores a provider after three successful probes, and one replica probes per interval', async () => {
    const store = new MemoryCacheStore();
    const health = new ProviderHealth(store.client());
    const list = providers();
    const probers = ['pod-a', 'pod-b'].map(
      (holder) =>
        new HealthProber({
          providers: list,
          health: new ProviderHealth(store.client()),
          holder,
          intervalMs: 200,
        }),
    );
    openai.behave({ mode: 'status', status: 500 });
    await health.markUnhealthy('openai', 'server');
    const [a, b] = await Promise.all(probers.map((p) => p.probeOnce()));
    expect([...a!, ...b!]).toEqual(['openai']);
    expect(await health.get('openai')).toMatchObject({ probeSuccesses: 0, reason: 'probe failed' });

    openai.behave({ mode: 'ok' });
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await probers[i % 2]!.probeOnce();
    }
    expect(await health.isHealthy('openai')).toBe(true);
  });

  it('collects a probe like any answer', async () => {
    expect((await collect(providers()[2]!.stream(ask()))).text).toContain('Monday');
  });
});

describe('LlmRouter circuit breakers', () => {
  it("opens a failing provider's circuit after 3 failures and skips it, even when the shared health in Redis is unreachable", async () => {
    const unreachable = new Proxy(
      {},
      { get: () => () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) },
    ) as ConstructorParameters<typeof ProviderHealth>[0];
    const [o, a] = providers();
    const events: RouterEvent[] = [];
    const r = new LlmRouter({
      providers: [
        { provider: o!, weight: 0.7 },
        { provider: a!, weight: 0.3 },
      ],
      health: new ProviderHealth(unreachable),
      random: () => 0,
      onEvent: (e) => events.push(e),
    });
    openai.behave({ mode: 'status', status: 503 });
    anthropic.behave({ mode: 'ok', text: 'From Anthropic.' });
    for (let i = 0; i < 3; i++) expect((await r.reply(ask())).provider).toBe('anthropic');
    expect(r.breakers.get('openai')!.state).toBe('open');
    expect(r.breakers.get('anthropic')!.state).toBe('closed');
    const before = openai.requests.length;
    expect((await r.reply(ask())).provider).toBe('anthropic');
    expect(openai.requests.length).toBe(before); // not even tried while open
    expect(events.filter((e) => e.kind === 'failover')).toHaveLength(3);
  });
});

describe('LlmRouter with per-tenant and per-provider settings', () => {
  it("follows a tenant's own weights, keeping a provider weighted 0 away from it", async () => {
    const { router: r } = router();
    for (let i = 0; i < 5; i++) {
      const reply = await r.reply({
        ...ask(),
        settings: { provider_weights: { openai: 0, anthropic: 0, google: 100 } },
      });
      expect(reply.provider).toBe('google');
    }
    expect(openai.requests).toHaveLength(0);
  });

  it("applies the tenant's first-token limit over the provider's, and the provider's over the router's", async () => {
    openai.behave({ mode: 'slow', firstTokenDelayMs: 400 });
    const [o, a] = providers();
    const health = new ProviderHealth(new MemoryCacheStore().client());
    const r = new LlmRouter({
      providers: [
        { provider: o!, weight: 0.7, firstTokenTimeoutMs: 200 },
        { provider: a!, weight: 0.3 },
      ],
      health,
      random: () => 0,
    });
    // The provider's own 200 ms limit moves a 400 ms first token to the next provider...
    expect((await r.reply(ask())).provider).toBe('anthropic');
    await health.restore('openai');
    // ...and a tenant allowing 2 s waits for it.
    expect(
      (await r.reply({ ...ask(), settings: { first_token_timeout_ms: 2_000 } })).provider,
    ).toBe('openai');
  });
});
