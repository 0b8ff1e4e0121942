// The LLM router's own cost per answer (weighted choice, shared health read,
// breaker admission, first-token and answer timers, chunk relay), p50/p99, against
// the baseline measured in the same run: the official OpenAI SDK streaming the
// same answer from the same local server with no router around it.
//   pnpm --filter @parley/bench router-overhead [calls=400]
import OpenAI from 'openai';
import { LlmRouter, OpenAiProvider, ProviderHealth } from '@parley/ai';
import { MemoryCacheStore } from '@parley/embedded';
import { startFakeLlm } from '@parley/testing';

const calls = Math.min(Number(process.argv[2] ?? 400), 5_000);
const llm = await startFakeLlm();
llm.behave({ mode: 'ok', text: 'Our support team is available Monday to Friday.', chunks: 4 });
const baseURL = `${llm.baseUrl}/v1`;
const body = {
  model: 'gpt-4o-mini',
  stream: true,
  stream_options: { include_usage: true },
  max_completion_tokens: 512,
  messages: [{ role: 'user', content: 'When are you open?' }],
};

const sdk = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0 });
async function direct() {
  let text = '';
  for await (const chunk of await sdk.chat.completions.create(body)) {
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return text;
}

const cacheStore = new MemoryCacheStore();
const router = new LlmRouter({
  providers: [
    {
      provider: new OpenAiProvider({ apiKey: 'sk-bench', model: 'gpt-4o-mini', baseUrl: baseURL }),
      weight: 70,
    },
  ],
  health: new ProviderHealth(cacheStore.client()),
});
async function routed() {
  const reply = await router.reply({
    tenantId: 'bench',
    conversationId: 'c',
    text: 'When are you open?',
    history: [],
    signal: new AbortController().signal,
  });
  return reply.text;
}

async function measure(fn) {
  for (let i = 0; i < 50; i++) await fn(); // warm up
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const text = await fn();
    times[i] = performance.now() - t0;
    if (!text) throw new Error('empty answer');
  }
  times.sort();
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

// Interleave two rounds of each so drift on the machine hits both alike.
const sdk1 = await measure(direct);
const router1 = await measure(routed);
const sdk2 = await measure(direct);
const router2 = await measure(routed);
const sdkRes = { p50: (sdk1.p50 + sdk2.p50) / 2, p99: (sdk1.p99 + sdk2.p99) / 2 };
const routerRes = { p50: (router1.p50 + router2.p50) / 2, p99: (router1.p99 + router2.p99) / 2 };
const ms = (v) => `${v.toFixed(2)} ms`;
console.log(
  `router overhead, ${calls} streamed answers × 2 rounds from a loopback OpenAI-format server`,
);
console.log(`  SDK directly (baseline): p50 ${ms(sdkRes.p50)}  p99 ${ms(sdkRes.p99)}`);
console.log(`  through LlmRouter:       p50 ${ms(routerRes.p50)}  p99 ${ms(routerRes.p99)}`);
console.log(
  `  ratio router/SDK: p50 ${(routerRes.p50 / sdkRes.p50).toFixed(2)}  p99 ${(routerRes.p99 / sdkRes.p99).toFixed(2)};` +
    ` added p50 ${ms(routerRes.p50 - sdkRes.p50)}`,
);
await llm.close();
cacheStore.close();
