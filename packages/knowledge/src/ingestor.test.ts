import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { MemoryCache, MemoryCacheStore, PgliteDatabase } from '@parley/embedded';
import { OfflineEmbedder, type Embedder } from './embedder.js';
import { CachedEmbedder, KnowledgeIngestor, contentHash } from './ingestor.js';
import { KnowledgeStore } from './store.js';

/** An embedder that counts the texts it is asked for. */
class CountingEmbedder implements Embedder {
  readonly inner = new OfflineEmbedder(16);
  readonly model = this.inner.model;
  readonly dimensions = 16;
  asked: string[] = [];
  async embed(texts: string[]): Promise<number[][]> {
    this.asked.push(...texts);
    return this.inner.embed(texts);
  }
}

let db: PgliteDatabase;
let store: KnowledgeStore;
const tenant = `ing-${randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  db = await PgliteDatabase.open();
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenant,
    name: tenant,
    widgetKey: 'pk_ing',
    allowedOrigins: [],
  });
  store = new KnowledgeStore(db);
});
afterAll(() => db.close());

const upload = (id: string, content: string) =>
  store.upsertDocument({
    tenantId: tenant,
    id,
    title: id,
    format: 'markdown',
    content,
    contentHash: contentHash(content),
  });

describe('KnowledgeIngestor', () => {
  it('stores the chunks of the content it was asked for, and does nothing for replaced or missing content', async () => {
    const embedder = new CountingEmbedder();
    const ingestor = new KnowledgeIngestor({ store, embedder });
    const first = '# Returns\n\nReturns are free within 30 days.';
    await upload('returns', first);
    const second = '# Returns\n\nReturns are free within 60 days.';
    await upload('returns', second); // a newer upload before the first job ran
    expect(await ingestor.ingest(tenant, 'returns', contentHash(first))).toEqual({
      outcome: 'stale',
      chunks: 0,
    });
    expect(embedder.asked).toEqual([]);
    expect(await ingestor.ingest(tenant, 'returns', contentHash(second))).toEqual({
      outcome: 'stored',
      chunks: 1,
    });
    expect(await store.document(tenant, 'returns')).toMatchObject({
      status: 'ready',
      chunkCount: 1,
    });
    expect(await ingestor.ingest(tenant, 'nothing', contentHash('x'))).toEqual({
      outcome: 'missing',
      chunks: 0,
    });
  });
});

describe('CachedEmbedder', () => {
  it('embeds each text once per model, and works on when the cache fails', async () => {
    const inner = new CountingEmbedder();
    const cache = new MemoryCache(new MemoryCacheStore());
    const cached = new CachedEmbedder(inner, cache);
    const first = await cached.embed(['alpha', 'beta']);
    const again = await cached.embed(['beta', 'gamma', 'alpha']);
    expect(inner.asked).toEqual(['alpha', 'beta', 'gamma']);
    expect(again[0]).toEqual(first[1]);
    expect(again[2]).toEqual(first[0]);
    // A cache whose every call fails (Redis down).
    const down = new Proxy(cache, {
      get: (target, name) =>
        name === 'get' || name === 'set'
          ? () => Promise.reject(new Error('down'))
          : Reflect.get(target, name),
    });
    const broken = new CachedEmbedder(inner, down);
    expect(await broken.embed(['alpha'])).toEqual([first[0]]);
  });
});
