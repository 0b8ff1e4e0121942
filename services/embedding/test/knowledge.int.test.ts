import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  expectEventually,
  infraEnv,
  serviceEnv,
  startFakeLlm,
  startServiceProcess,
  type FakeLlm,
  type ServiceProcess,
} from '@parley/testing';

/**
 * The embedding service as its own process on real Kafka, Postgres and
 * Redis, with OpenAI's embeddings API played by a local server through the
 * official SDK: upload, ingestion by a job, search with isolation, delete.
 */
const ADMIN = 'operator-token-0123456789abcdef';
const SEARCH = 'search-token-0123456789abcdef0';
const run = randomUUID().slice(0, 8);
const tenant = `kb-${run}`;
const other = `kb-other-${run}`;
let db: PgDatabase;
let llm: FakeLlm;
let service: ServiceProcess;

beforeAll(async () => {
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl });
  await migrate(db);
  const tenants = new ConversationStore(db);
  for (const id of [tenant, other])
    await tenants.upsertTenant({ id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [] });
  llm = await startFakeLlm();
  service = await startServiceProcess(
    createRequire(import.meta.url).resolve('@parley/embedding/main'),
    {
      env: {
        ...serviceEnv({ isolate: run }),
        PARLEY_ADMIN_TOKEN: ADMIN,
        KNOWLEDGE_SEARCH_TOKEN: SEARCH,
        KNOWLEDGE_EMBEDDER: 'openai',
        OPENAI_API_KEY: 'sk-test-embeddings',
        OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
        OPENAI_EMBEDDING_DIMENSIONS: '256',
        KNOWLEDGE_MAX_DOCUMENT_BYTES: '4096',
      },
      startTimeoutMs: 60_000,
    },
  );
}, 120_000);
afterAll(async () => {
  await service?.stop('SIGTERM');
  await llm?.close();
  await db?.close();
});

async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const res = await fetch(`${service.baseUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const upload = (tenantId: string, body: Record<string, unknown>) =>
  call(`/v1/knowledge/${tenantId}/documents`, { token: ADMIN, body });
const search = (tenantId: string, query: string) =>
  call(`/v1/knowledge/${tenantId}/search`, { token: SEARCH, body: { query } });
const ready = (tenantId: string, id: string) =>
  expectEventually(
    async () => {
      const { body } = await call(`/v1/knowledge/${tenantId}/documents/${id}`, { token: ADMIN });
      expect(body.document?.status).toBe('ready');
    },
    { timeoutMs: 20_000 },
  );

/** A one-page PDF whose page says `text` (Helvetica), with a correct cross-reference table. */
function pdf(text: string): string {
  const stream = `BT /F1 18 Tf 72 700 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1').toString('base64');
}

describe('the knowledge base through the embedding service', () => {
  it('ingests Markdown, HTML and PDF uploads through jobs, embedding with the OpenAI SDK, and finds them', async () => {
    const markdown = await upload(tenant, {
      id: 'refunds',
      title: 'Refunds',
      source: 'https://help.example.com/refunds',
      format: 'markdown',
      content: '# Refunds\n\nRefunds reach your card within 5 business days.',
    });
    expect(markdown.status).toBe(202);
    expect(markdown.body.document).toMatchObject({ id: 'refunds', status: 'pending' });
    const html = await upload(tenant, {
      id: 'shipping',
      title: 'Shipping',
      format: 'html',
      content: `<h1>Shipping</h1><p>Parcels to Canada take 8 days.</p><p>Revision ${run}.</p>`,
    });
    const scanned = await upload(tenant, {
      id: 'warranty',
      title: 'Warranty',
      format: 'pdf',
      contentBase64: pdf('Every blender has a warranty of two years.'),
    });
    expect([html.status, scanned.status]).toEqual([202, 202]);
    for (const id of ['refunds', 'shipping', 'warranty']) await ready(tenant, id);
    // Embedded through the SDK (the Redis cache serves repeats; this run's texts are new to it).
    expect(llm.requests.some((r) => r.provider === 'openai-embeddings')).toBe(true);

    // Search reads a replica: each document shows up once replayed.
    await expectEventually(async () => {
      const refunds = await search(tenant, 'When do refunds reach my card?');
      expect(refunds.status).toBe(200);
      expect(refunds.body.passages[0]).toMatchObject({
        documentId: 'refunds',
        source: 'https://help.example.com/refunds',
      });
      const warranty = await search(tenant, 'warranty of blender');
      expect(warranty.body.passages[0]?.documentId).toBe('warranty');
      const shipping = await search(tenant, 'parcels Canada');
      expect(shipping.body.passages[0]?.documentId).toBe('shipping');
    });
  });

  it('keeps tenants apart, deduplicates uploads, and deletes (moving the knowledge version on)', async () => {
    expect((await search(other, 'refunds card')).body.passages).toEqual([]);
    const again = await upload(tenant, {
      id: 'refunds-again',
      title: 'Refunds (copy)',
      format: 'markdown',
      content: '# Refunds\n\nRefunds reach your card within 5 business days.',
    });
    expect([again.status, again.body.duplicate, again.body.document.id]).toEqual([
      200,
      true,
      'refunds',
    ]);
    const before = (await call(`/v1/knowledge/${tenant}/documents`, { token: ADMIN })).body.version;
    expect(
      (await call(`/v1/knowledge/${tenant}/documents/shipping`, { method: 'DELETE', token: ADMIN }))
        .status,
    ).toBe(200);
    const after = await call(`/v1/knowledge/${tenant}/documents`, { token: ADMIN });
    expect(after.body.version).toBe(before + 1);
    expect(after.body.documents.map((d: { id: string }) => d.id).sort()).toEqual([
      'refunds',
      'warranty',
    ]);
    await expectEventually(async () => {
      const after = await search(tenant, 'parcels Canada');
      expect(
        after.body.passages.some((p: { documentId: string }) => p.documentId === 'shipping'),
      ).toBe(false);
    });
  });

  it("marks a document failed while embeddings fail (after the policy's retries), and ingests it again on request", async () => {
    llm.behave({ mode: 'status', status: 500 });
    const uploaded = await upload(tenant, {
      id: 'toaster',
      title: 'Toaster',
      format: 'text',
      content: `Empty the toaster crumb tray every week. Run ${run}.`,
    });
    expect(uploaded.status).toBe(202);
    await expectEventually(
      async () => {
        const { body } = await call(`/v1/knowledge/${tenant}/documents/toaster`, { token: ADMIN });
        expect(body.document).toMatchObject({ status: 'failed' });
        expect(body.document.error).toMatch(/500/);
      },
      { timeoutMs: 20_000 },
    );
    // Three attempts per embedding call: the first and the policy's two retries.
    const calls = llm.requests.filter(
      (r) => r.provider === 'openai-embeddings' && JSON.stringify(r.body.input).includes(run),
    );
    expect(calls.length).toBeGreaterThanOrEqual(3);
    llm.behave({ mode: 'ok' });
    const again = await call(`/v1/knowledge/${tenant}/documents/toaster/reingest`, {
      method: 'POST',
      token: ADMIN,
      body: {},
    });
    expect(again.status).toBe(202);
    await ready(tenant, 'toaster');
    await expectEventually(async () =>
      expect((await search(tenant, 'toaster crumb tray')).body.passages[0]?.documentId).toBe(
        'toaster',
      ),
    );
  });

  it('refuses calls without the right token, bad bodies, unknown tenants and oversized documents', async () => {
    expect((await call(`/v1/knowledge/${tenant}/documents`)).status).toBe(401);
    expect((await call(`/v1/knowledge/${tenant}/documents`, { token: SEARCH })).status).toBe(401);
    expect(
      (await call(`/v1/knowledge/${tenant}/search`, { token: ADMIN, body: { query: 'x' } })).status,
    ).toBe(401);
    const bad = await upload(tenant, { title: 'x', format: 'docx', content: 'x' });
    expect([bad.status, bad.body.code]).toEqual([400, 'EMB_ERR_INVALID']);
    const nobody = await upload('nobody', { title: 'x', format: 'text', content: 'x' });
    expect([nobody.status, nobody.body.code]).toEqual([404, 'EMB_ERR_UNKNOWN_TENANT']);
    const big = await upload(tenant, { title: 'Big', format: 'text', content: 'x'.repeat(5_000) });
    expect([big.status, big.body.code]).toEqual([413, 'EMB_ERR_TOO_LARGE']);
    const unreadable = await upload(tenant, {
      title: 'Broken',
      format: 'pdf',
      contentBase64: 'bm90IGEgcGRm',
    });
    expect([unreadable.status, unreadable.body.code]).toEqual([422, 'EMB_ERR_UNREADABLE']);
  });
});
