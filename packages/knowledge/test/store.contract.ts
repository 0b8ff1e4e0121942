import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually } from '@parley/testing';
import type { SqlDatabase } from '@parley/ports';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { KnowledgeIngestor, contentHash } from '../src/ingestor.js';
import { OfflineEmbedder } from '../src/embedder.js';
import { KnowledgeStore, type Passage } from '../src/store.js';

/** A small help center, and questions with the document that answers each. */
export const CORPUS = [
  {
    id: 'refunds',
    title: 'Refunds',
    text: '# Refunds\n\nRefunds are paid back to the original card within 5 business days after we receive the returned item.\n\n## Exceptions\n\nGift cards and downloadable software cannot be refunded.',
  },
  {
    id: 'shipping',
    title: 'Shipping',
    text: '# Shipping\n\nOrders ship from our warehouse within 2 days. Delivery to Canada takes 5 to 8 days and costs 12 dollars.',
  },
  {
    id: 'password',
    title: 'Password reset',
    text: '# Password reset\n\nIf you forgot your password, use the reset link on the sign-in page. The link expires after one hour.',
  },
  {
    id: 'hours',
    title: 'Opening hours',
    text: '# Support hours\n\nOur support team answers Monday to Friday from 9:00 to 17:00 Central European Time.',
  },
];
export const QUESTIONS: Array<[string, string]> = [
  ['How long until I get my money back?', 'refunds'],
  ['Can I return a gift card?', 'refunds'],
  ['How much is delivery to Canada?', 'shipping'],
  ['I forgot my password', 'password'],
  ['When is your support team available?', 'hours'],
];

export const sha256 = contentHash;

/** Ingests a document the way the embedding service does: register it, then run the job. */
export async function ingest(
  store: KnowledgeStore,
  embedder: OfflineEmbedder,
  tenantId: string,
  doc: { id: string; title: string; text: string },
): Promise<void> {
  const hash = contentHash(doc.text);
  await store.upsertDocument({
    tenantId,
    id: doc.id,
    title: doc.title,
    source: `${doc.id}.md`,
    format: 'markdown',
    content: doc.text,
    contentHash: hash,
  });
  expect(
    (await new KnowledgeIngestor({ store, embedder }).ingest(tenantId, doc.id, hash)).outcome,
  ).toBe('stored');
}

/** The knowledge store's behaviour, run against PGlite (pgvector) and pg (exact cosine). */
export function knowledgeStoreContract(
  name: string,
  open: () => Promise<SqlDatabase>,
  pgvector: boolean,
): void {
  describe(`KnowledgeStore on ${name}`, () => {
    let db: SqlDatabase;
    let store: KnowledgeStore;
    const embedder = new OfflineEmbedder();
    const tenant = `kb-${randomUUID().slice(0, 8)}`;
    const other = `kb-other-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      db = await open();
      await migrate(db);
      const conversations = new ConversationStore(db);
      for (const id of [tenant, other])
        await conversations.upsertTenant({
          id,
          name: id,
          widgetKey: `pk_${id}`,
          allowedOrigins: [],
        });
      store = new KnowledgeStore(db);
      for (const doc of CORPUS) await ingest(store, embedder, tenant, doc);
      // Searches read a replica: wait until it has replayed the last document.
      await expectEventually(async () => {
        const [embedding] = await embedder.embed(['support team hours']);
        const found = await store.search(tenant, {
          text: 'support team hours',
          embedding: embedding!,
          model: embedder.model,
        });
        expect(found.map((p) => p.documentId)).toContain('hours');
      });
    });
    afterAll(() => db.close());

    const ask = async (
      text: string,
      ranking?: 'lexical' | 'vector' | 'hybrid',
      tenantId = tenant,
    ) => {
      const [embedding] = await embedder.embed([text]);
      return store.search(
        tenantId,
        { text, embedding: embedding!, model: embedder.model },
        { ranking },
      );
    };

    it(`ranks vectors with ${pgvector ? 'pgvector' : 'exact cosine over real[]'}`, async () => {
      expect(await store.usesPgvector()).toBe(pgvector);
    });

    it('finds the document that answers each question first, by hybrid ranking', async () => {
      for (const [question, answer] of QUESTIONS) {
        const [top] = await ask(question);
        expect(top?.documentId, question).toBe(answer);
      }
    });

    it('reports how each ranking placed a passage, and cites its document', async () => {
      const [top] = await ask('refund gift card');
      expect(top).toMatchObject({ documentId: 'refunds', title: 'Refunds', source: 'refunds.md' });
      expect(top!.lexicalRank).toBe(1);
      expect(top!.vectorRank).not.toBeNull();
      expect(top!.similarity).toBeGreaterThan(0);
      expect(top!.heading).toBe('Refunds › Refunds › Exceptions');
      const lexicalOnly = await ask('refund gift card', 'lexical');
      expect(lexicalOnly.every((p: Passage) => p.vectorRank === null)).toBe(true);
    });

    it("never returns another tenant's passages", async () => {
      expect(await ask('refund', 'hybrid', other)).toEqual([]);
      await ingest(store, embedder, other, {
        id: 'secret',
        title: 'Other',
        text: 'Refunds for the other tenant only.',
      });
      // Searches read a replica: the other tenant's passage shows up once replayed, for them only.
      await expectEventually(async () => {
        const theirs = await ask('refunds other tenant', 'hybrid', other);
        expect(theirs.map((p) => p.documentId)).toEqual(['secret']);
      });
      const mine = await ask('refunds other tenant');
      expect(mine.some((p) => p.documentId === 'secret')).toBe(false);
    });

    it('deduplicates by content, moves the knowledge version on every change, and deletes', async () => {
      const before = await store.version(tenant, 'primary');
      const copy = await store.upsertDocument({
        tenantId: tenant,
        id: 'refunds-copy',
        title: 'Copy',
        format: 'markdown',
        content: CORPUS[0]!.text,
        contentHash: sha256(CORPUS[0]!.text),
      });
      expect(copy).toMatchObject({ duplicate: true, document: { id: 'refunds' } });
      await ingest(store, embedder, tenant, {
        id: 'returns',
        title: 'Returns',
        text: 'Returns are free within 30 days.',
      });
      expect(await store.version(tenant, 'primary')).toBe(before + 1);
      expect((await store.document(tenant, 'returns'))?.status).toBe('ready');
      expect(await store.deleteDocument(tenant, 'returns')).toBe(true);
      expect(await store.deleteDocument(tenant, 'returns')).toBe(false);
      expect(await store.version(tenant, 'primary')).toBe(before + 2);
      await expectEventually(async () =>
        expect((await ask('free returns 30 days')).some((p) => p.documentId === 'returns')).toBe(
          false,
        ),
      );
    });

    it('answers a question with no searchable word without failing', async () => {
      expect(await ask('the and of', 'lexical')).toEqual([]);
    });
  });
}
