import { readFile, readdir } from 'node:fs/promises';
import { contentHash } from '@parley/knowledge';
import type { Knowledge } from '@parley/embedding';

/** The bundled demo knowledge base: packages/standalone/knowledge/*.md. */
export const DEMO_KNOWLEDGE_DIR = new URL('../knowledge/', import.meta.url);

/**
 * Loads the bundled help-center documents into the tenant's knowledge base
 * and ingests them at once (the offline embedder takes milliseconds).
 * Unchanged documents are skipped: a restart costs nothing. Returns how many
 * documents were (re)ingested.
 */
export async function loadDemoKnowledge(knowledge: Knowledge, tenantId: string): Promise<number> {
  let ingested = 0;
  for (const file of (await readdir(DEMO_KNOWLEDGE_DIR)).filter((f) => f.endsWith('.md')).sort()) {
    const content = await readFile(new URL(file, DEMO_KNOWLEDGE_DIR), 'utf8');
    const id = file.replace(/\.md$/, '');
    const hash = contentHash(content);
    const existing = await knowledge.store.document(tenantId, id);
    if (existing?.contentHash === hash && existing.status === 'ready') continue;
    const title = /^#\s+(.+)$/m.exec(content)?.[1]?.trim() ?? id;
    await knowledge.store.upsertDocument({
      tenantId,
      id,
      title,
      source: `${id}.md`,
      format: 'markdown',
      content,
      contentHash: hash,
    });
    if ((await knowledge.ingestor.ingest(tenantId, id, hash)).outcome === 'stored') ingested++;
  }
  return ingested;
}
