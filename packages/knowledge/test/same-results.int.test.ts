import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgliteDatabase } from '@parley/embedded';
import { PgDatabase } from '@parley/postgres';
import type { SqlDatabase } from '@parley/ports';
import { infraEnv } from '@parley/testing';
import { OfflineEmbedder } from '../src/embedder.js';
import { KnowledgeStore } from '../src/store.js';
import { CORPUS, QUESTIONS, ingest } from './store.contract.js';

/**
 * pgvector (PGlite) and exact cosine over real[] (the test Postgres, which
 * has no pgvector) rank the same corpus the same way.
 */
const embedder = new OfflineEmbedder();
const tenant = `same-${randomUUID().slice(0, 8)}`;
const dbs: SqlDatabase[] = [];
let withPgvector: KnowledgeStore;
let exact: KnowledgeStore;

beforeAll(async () => {
  const env = infraEnv();
  const pglite = await PgliteDatabase.open();
  const pg = new PgDatabase({ primaryUrl: env.pgPrimaryUrl });
  dbs.push(pglite, pg);
  for (const db of dbs) {
    await migrate(db);
    await new ConversationStore(db).upsertTenant({
      id: tenant,
      name: tenant,
      widgetKey: `pk_${tenant}`,
      allowedOrigins: [],
    });
  }
  [withPgvector, exact] = [new KnowledgeStore(pglite), new KnowledgeStore(pg)];
  for (const store of [withPgvector, exact])
    for (const doc of CORPUS) await ingest(store, embedder, tenant, doc);
});
afterAll(async () => {
  for (const db of dbs) await db.close();
});

describe('vector ranking with and without pgvector', () => {
  it('gives the same passages in the same order with the same similarities', async () => {
    expect([await withPgvector.usesPgvector(), await exact.usesPgvector()]).toEqual([true, false]);
    for (const [question] of [
      ...QUESTIONS,
      ['refund to the original card', ''] as [string, string],
    ]) {
      const [embedding] = await embedder.embed([question]);
      const query = { text: question, embedding: embedding!, model: embedder.model };
      const [a, b] = await Promise.all(
        [withPgvector, exact].map((s) => s.search(tenant, query, { ranking: 'vector', limit: 10 })),
      );
      expect(
        a!.map((p) => `${p.documentId}#${p.ord}`),
        question,
      ).toEqual(b!.map((p) => `${p.documentId}#${p.ord}`));
      a!.forEach((p, i) => expect(p.similarity!, question).toBeCloseTo(b![i]!.similarity!, 5));
    }
  });
});
