import {
  EventRegistry,
  knowledgeIngestRequestedV1,
  type Event,
  type KnowledgeIngestRequestedV1,
} from '@parley/contracts';
import type { KnowledgeIngestor, KnowledgeStore } from '@parley/knowledge';
import type { Logger } from '@parley/observability';
import type { EventBus, Subscription } from '@parley/ports';

/** The embedding service's consumer group on `knowledge-jobs`. */
export const EMBEDDING_GROUP = 'embedding';

/**
 * Runs each ingestion job: chunk, embed, store. A failure is retried by the
 * bus (and dead-lettered after its retries); the document is marked failed
 * with the reason so operators see it. Jobs for content since replaced, or
 * for deleted documents, do nothing.
 */
export function createIngestWorker(deps: {
  jobs: EventBus;
  store: KnowledgeStore;
  ingestor: KnowledgeIngestor;
  logger: Logger;
  groupId?: string;
  /** Counted per job outcome. */
  onIngested?: (outcome: string, chunks: number, ms: number) => void;
}): Subscription {
  return deps.jobs.subscribe({
    groupId: deps.groupId ?? EMBEDDING_GROUP,
    registry: new EventRegistry([knowledgeIngestRequestedV1]),
    fromBeginning: true,
    handler: async (raw, ctx) => {
      const event = raw as Event<KnowledgeIngestRequestedV1>;
      const { document_id: documentId, content_hash: hash } = event.payload;
      const started = performance.now();
      try {
        const { outcome, chunks } = await deps.ingestor.ingest(
          event.tenant_id,
          documentId,
          hash,
          ctx.signal,
        );
        deps.onIngested?.(outcome, chunks, performance.now() - started);
        deps.logger.info({ documentId, outcome, chunks }, 'Document ingested');
      } catch (err) {
        deps.logger.warn({ err, documentId, attempt: ctx.attempt }, 'Ingestion failed');
        await deps.store
          .markFailed(event.tenant_id, documentId, err instanceof Error ? err.message : String(err))
          .catch(() => undefined);
        throw err;
      }
    },
  });
}
