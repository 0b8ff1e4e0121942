import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  WidgetClient,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startFakeLlm,
  startServiceProcess,
  type FakeLlm,
  type FakeLlmBehaviour,
  type ServiceProcess,
} from '@parley/testing';

/**
 * The promise to end users, end to end: gateway, chat and AI as
 * separate processes on real Kafka, Postgres and Redis, the AI on two model
 * providers (local servers speaking OpenAI's and Anthropic's wire formats)
 * that keep failing in every way: 5xx, 429, hanging, dropping mid-stream.
 * Every question still gets exactly one stored answer, and no widget ever
 * receives an `error` frame.
 */
const CLIENTS = 8;
const MESSAGES = 8;
const ORIGIN = 'http://parley.test';
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);

/** What both providers do, phase by phase (each phase lasts PHASE_MS). */
const PHASES: Array<[FakeLlmBehaviour, FakeLlmBehaviour]> = [
  [
    { mode: 'status', status: 500 },
    { mode: 'ok', text: 'Anthropic answers.' },
  ],
  [
    { mode: 'status', status: 429, retryAfterSeconds: 1 },
    { mode: 'status', status: 503 },
  ],
  [{ mode: 'hang' }, { mode: 'drop', text: 'Half an answer, then', chunks: 4, dropAfterChunks: 2 }],
  [
    { mode: 'drop', text: 'This will break', chunks: 4, dropAfterChunks: 1 },
    { mode: 'drop', text: 'and so will this', chunks: 4, dropAfterChunks: 3 },
  ],
  [
    { mode: 'ok', text: 'OpenAI is back.', chunks: 3 },
    { mode: 'status', status: 500 },
  ],
];
const PHASE_MS = 500;

let db: PgDatabase;
let store: ConversationStore;
let openai: FakeLlm;
let anthropic: FakeLlm;
const procs: ServiceProcess[] = [];
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeLlm(), startFakeLlm()]);
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  store = new ConversationStore(db);
  const env = {
    ...serviceEnv({ isolate: run }),
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_SECOND: '100000',
  };
  const started = await Promise.all([
    startServiceProcess(entry('@parley/gateway'), { env, startTimeoutMs: 60_000 }),
    startServiceProcess(entry('@parley/chat'), { env, startTimeoutMs: 60_000 }),
    startServiceProcess(entry('@parley/ai'), {
      env: {
        ...env,
        OPENAI_API_KEY: 'sk-test-openai',
        OPENAI_BASE_URL: `${openai.baseUrl}/v1`,
        ANTHROPIC_API_KEY: 'sk-test-anthropic',
        ANTHROPIC_BASE_URL: anthropic.baseUrl,
        AI_FIRST_TOKEN_TIMEOUT_MS: '400',
        AI_GENERATION_TIMEOUT_MS: '3000',
        AI_PROVIDER_COOLDOWN_MS: '1000',
        AI_PROBE_INTERVAL_MS: '1000',
      },
      startTimeoutMs: 60_000,
    }),
  ]);
  procs.push(...started);
}, 90_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  await Promise.all([openai?.close(), anthropic?.close()]);
  await db?.close();
});

describe('answers while every model provider keeps failing', () => {
  it(`gives ${CLIENTS} x ${MESSAGES} questions one stored answer each and never an error frame`, async () => {
    const gateway = procs[0]!;
    const tenantId = `fail-${randomUUID().slice(0, 8)}`;
    await store.upsertTenant({
      id: tenantId,
      name: tenantId,
      widgetKey: `pk_${tenantId}`,
      allowedOrigins: [ORIGIN],
    });
    let phase = 0;
    const apply = () => {
      const [a, b] = PHASES[phase % PHASES.length]!;
      openai.behave(a);
      anthropic.behave(b);
    };
    apply();
    const ticker = setInterval(() => {
      phase++;
      apply();
    }, PHASE_MS);
    const questions = [
      'hello',
      'Tell me about your enterprise plans',
      'What are your opening hours?',
    ];
    try {
      const clients = await Promise.all(
        Array.from({ length: CLIENTS }, async (_, i) => {
          const client = await WidgetClient.connect(gateway.baseUrl, {
            widgetKey: `pk_${tenantId}`,
            origin: ORIGIN,
          });
          client.send({ type: 'resume', afterSeq: 0 });
          for (let n = 0; n < MESSAGES; n++) {
            const clientMessageId = `q-${n}`;
            client.send({ type: 'message', clientMessageId, text: questions[(i + n) % 3]! });
            const ack = await client.waitFor(
              (f) => f.type === 'ack' && f.clientMessageId === clientMessageId,
              { timeoutMs: 15_000 },
            );
            await client.waitFor(
              (f) => f.type === 'message' && f.clientMessageId === `reply:${ack.seq as number}`,
              { timeoutMs: 30_000 },
            );
          }
          return client;
        }),
      );
      const frames = clients.flatMap((c) => c.frames);
      const answers: string[] = [];
      expect(frames.filter((f) => f.type === 'error')).toEqual([]);
      // Each broken stream was marked before its answer arrived, never ended as a clean finish.
      for (const client of clients) {
        for (const cut of client.frames.filter((f) => f.type === 'incomplete')) {
          const at = client.frames.indexOf(cut);
          const answer = client.frames.findIndex(
            (f) => f.type === 'message' && f.clientMessageId === `reply:${cut.replyTo as number}`,
          );
          expect(answer).toBeGreaterThan(at);
        }
        const stored = await store.messagesAfter(
          tenantId,
          client.session.conversationId,
          0,
          100,
          'primary',
        );
        expect(stored.map((m) => m.role)).toEqual(
          Array.from({ length: 2 * MESSAGES }, (_, k) => (k % 2 ? 'assistant' : 'user')),
        );
        expect(stored.every((m) => m.text.trim().length > 0)).toBe(true);
        answers.push(...stored.filter((m) => m.role === 'assistant').map((m) => m.text));
        client.close();
      }
      // The failures really happened, and the answers came from more than one source. (Not
      // "some answer was streamed": when degradation is quick, templates and static answers,
      // which are not streamed, can answer every question of a run.)
      expect(openai.requests.length + anthropic.requests.length).toBeGreaterThan(CLIENTS);
      expect(new Set(answers).size).toBeGreaterThan(1);
    } catch (err) {
      // The AI process's own account of what went wrong (its logs carry no message text).
      const ai = procs[2]!.logs.slice(-8);
      throw new Error(`${(err as Error).message}\nai warnings: ${JSON.stringify(ai)}`, {
        cause: err,
      });
    } finally {
      clearInterval(ticker);
    }
  }, 180_000);
});
