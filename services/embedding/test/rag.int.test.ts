import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  WidgetClient,
  expectEventually,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from '@parley/testing';

/**
 * Answers from the knowledge base across processes on real Kafka, Postgres
 * and Redis: gateway, chat, AI and embedding. The AI searches the embedding
 * service over HTTP, answers with the cited document as its source, and when
 * the embedding service dies it degrades to L2 and still answers.
 */
const ORIGIN = 'http://parley.test';
const ADMIN = 'operator-token-0123456789abcdef';
const SEARCH = 'search-token-0123456789abcdef0';
const run = randomUUID().slice(0, 8);
const tenantId = `rag-${run}`;
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
let db: PgDatabase;
const procs: ServiceProcess[] = [];
let gateway: ServiceProcess;
let ai: ServiceProcess;
let embedding: ServiceProcess;

beforeAll(async () => {
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [ORIGIN],
  });
  const env = {
    ...serviceEnv({ isolate: run }),
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_SECOND: '100000',
    PARLEY_ADMIN_TOKEN: ADMIN,
    KNOWLEDGE_SEARCH_TOKEN: SEARCH,
    AI_DEGRADATION_INTERVAL_MS: '500',
  };
  embedding = await startServiceProcess(entry('@parley/embedding'), {
    env,
    startTimeoutMs: 60_000,
  });
  const started = await Promise.all(
    (['@parley/gateway', '@parley/chat', '@parley/ai'] as const).map((s) =>
      startServiceProcess(entry(s), {
        env: s === '@parley/ai' ? { ...env, AI_KNOWLEDGE_URL: embedding.baseUrl } : env,
        startTimeoutMs: 60_000,
      }),
    ),
  );
  procs.push(embedding, ...started);
  [gateway, , ai] = started as [ServiceProcess, ServiceProcess, ServiceProcess];
}, 180_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGTERM').catch(() => undefined)));
  await db?.close();
});

async function ask(text: string) {
  const visitor = await WidgetClient.connect(gateway.baseUrl, {
    widgetKey: `pk_${tenantId}`,
    origin: ORIGIN,
  });
  try {
    visitor.send({ type: 'resume', afterSeq: 0 });
    visitor.send({ type: 'message', clientMessageId: 'q', text });
    return await visitor.waitFor((f) => f.type === 'message' && f.role === 'assistant', {
      timeoutMs: 20_000,
    });
  } finally {
    visitor.close();
  }
}

const level = async () =>
  (
    (await (await fetch(`${ai.baseUrl}/readyz`)).json()) as {
      checks: { degradation?: { details?: { level?: string } } };
    }
  ).checks.degradation?.details?.level;

describe('answers from the knowledge base across processes', () => {
  it('answers with the cited document as its source, and at L2 (embedding service gone) still answers', async () => {
    const res = await fetch(`${embedding.baseUrl}/v1/knowledge/${tenantId}/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({
        id: 'kettle',
        title: 'Kettle care',
        source: 'https://help.example.com/kettle',
        format: 'markdown',
        content: `# Kettle care\n\nDescale the AquaBoil kettle every four weeks with citric acid. Batch ${run}.`,
      }),
    });
    expect(res.status).toBe(202);
    await expectEventually(
      async () => {
        const doc = await fetch(`${embedding.baseUrl}/v1/knowledge/${tenantId}/documents/kettle`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        expect(((await doc.json()) as { document: { status: string } }).document.status).toBe(
          'ready',
        );
      },
      { timeoutMs: 20_000 },
    );
    // The AI's search reads a replica: wait until it has the document.
    await expectEventually(async () => {
      const found = await fetch(`${embedding.baseUrl}/v1/knowledge/${tenantId}/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SEARCH}` },
        body: JSON.stringify({ query: 'descale AquaBoil kettle' }),
      });
      const { passages } = (await found.json()) as { passages: Array<{ documentId: string }> };
      expect(passages[0]?.documentId).toBe('kettle');
    });
    const answer = await ask('How often should I descale the AquaBoil kettle?');
    expect(answer.text).toMatch(
      /^From “Kettle care”: Descale the AquaBoil kettle every four weeks/,
    );
    expect(answer.sources).toEqual([
      { title: 'Kettle care', url: 'https://help.example.com/kettle' },
    ]);

    await embedding.stop('SIGKILL');
    await expectEventually(async () => expect(await level()).toBe('L2'), { timeoutMs: 15_000 });
    const degraded = await ask('How often should I descale the AquaBoil kettle?');
    expect(String(degraded.text).length).toBeGreaterThan(0);
    expect(degraded.sources).toBeUndefined();
  }, 120_000);
});
