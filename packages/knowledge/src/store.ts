import type { ReadConsistency, SqlDatabase } from '@parley/ports';
import type { Chunk } from './chunker.js';

/** A document of a tenant's knowledge base. */
export interface KnowledgeDocument {
  tenantId: string;
  id: string;
  title: string;
  source: string | null;
  format: 'markdown' | 'html' | 'text' | 'pdf';
  contentHash: string;
  status: 'pending' | 'ready' | 'failed';
  error: string | null;
  chunkCount: number;
  updatedAt: string;
}

/** A chunk with its embedding, as stored. */
export interface EmbeddedChunk extends Chunk {
  contentHash: string;
  embedding: number[];
}

/** One passage found for a question, with how each ranking placed it. */
export interface Passage {
  documentId: string;
  title: string;
  source: string | null;
  ord: number;
  heading: string;
  text: string;
  /** Reciprocal rank fusion of the two rankings (higher is better). */
  score: number;
  /** Cosine similarity to the question (null when the vector ranking did not reach it). */
  similarity: number | null;
  /** Places in the lexical and vector rankings, from 1 (null: not in that ranking). */
  lexicalRank: number | null;
  vectorRank: number | null;
}

/** Which ranking {@link KnowledgeStore.search} uses. */
export type Ranking = 'lexical' | 'vector' | 'hybrid';

interface DocumentRow {
  tenant_id: string;
  id: string;
  title: string;
  source: string | null;
  format: KnowledgeDocument['format'];
  content_hash: string;
  status: KnowledgeDocument['status'];
  error: string | null;
  chunk_count: number;
  updated_at: Date | string;
}

interface HitRow {
  document_id: string;
  title: string;
  source: string | null;
  ord: number;
  heading: string;
  text: string;
  score: number | string;
}

const DOCUMENT_COLUMNS =
  'tenant_id, id, title, source, format, content_hash, status, error, chunk_count, updated_at';

/** Reciprocal rank fusion's constant (Cormack et al.: 60). */
const RRF_K = 60;

/**
 * Tenants' knowledge bases in Postgres: documents, their chunks with
 * full-text vectors and embeddings, and hybrid search. Every statement names
 * the tenant. Vector ranking uses pgvector's `<=>` where the extension is
 * installed (PGlite has it) and exact cosine over the stored `real[]`
 * elsewhere: the same order for the same vectors.
 */
export class KnowledgeStore {
  private vectorColumn: Promise<boolean> | undefined;

  constructor(private readonly db: SqlDatabase) {}

  /** Whether chunks carry a pgvector column (decided once, by the migration). */
  usesPgvector(): Promise<boolean> {
    this.vectorColumn ??= this.db
      .read<{ present: boolean }>(
        `select exists (select 1 from information_schema.columns
                         where table_name = 'knowledge_chunks' and column_name = 'embedding_vector') as present`,
        [],
        'primary',
      )
      .then(([row]) => row?.present === true);
    return this.vectorColumn;
  }

  async tenantExists(tenantId: string): Promise<boolean> {
    const rows = await this.db.read('select 1 from tenants where id = $1', [tenantId], 'primary');
    return rows.length > 0;
  }

  /** The tenant's knowledge version: it moves on every change of its knowledge base. */
  async version(tenantId: string, consistency: ReadConsistency = 'replica'): Promise<number> {
    const [row] = await this.db.read<{ v: number | string }>(
      'select knowledge_version as v from tenants where id = $1',
      [tenantId],
      consistency,
    );
    return Number(row?.v ?? 0);
  }

  /**
   * Registers a document to ingest. The same content already in the tenant's
   * knowledge base (by hash) is not stored twice: that document is returned,
   * with `duplicate` set. The same id with new content starts over as pending.
   */
  async upsertDocument(input: {
    tenantId: string;
    id: string;
    title: string;
    source?: string | null;
    format: KnowledgeDocument['format'];
    /** The text to ingest (a PDF's extracted text). */
    content: string;
    contentHash: string;
  }): Promise<{ document: KnowledgeDocument; duplicate: boolean }> {
    const { result } = await this.db.transaction(async (tx) => {
      const [same] = await tx.query<DocumentRow>(
        `select ${DOCUMENT_COLUMNS} from knowledge_documents
          where tenant_id = $1 and content_hash = $2 and id <> $3`,
        [input.tenantId, input.contentHash, input.id],
      );
      if (same) return { document: toDocument(same), duplicate: true };
      const [row] = await tx.query<DocumentRow>(
        `insert into knowledge_documents (tenant_id, id, title, source, format, content_hash, content)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (tenant_id, id) do update
           set title = $3, source = $4, format = $5, content_hash = $6, content = $7, updated_at = now(),
               status = case when knowledge_documents.content_hash = $6
                             then knowledge_documents.status else 'pending' end,
               error = null
         returning ${DOCUMENT_COLUMNS}`,
        [
          input.tenantId,
          input.id,
          input.title,
          input.source ?? null,
          input.format,
          input.contentHash,
          input.content,
        ],
      );
      return { document: toDocument(row!), duplicate: false };
    });
    return result;
  }

  /**
   * Replaces a document's chunks (an ingestion finished) and moves the
   * tenant's knowledge version on. Ignored when the document's content
   * changed meanwhile (a newer ingestion will store its own).
   */
  async storeChunks(
    tenantId: string,
    documentId: string,
    contentHash: string,
    model: string,
    chunks: EmbeddedChunk[],
  ): Promise<boolean> {
    const pgvector = await this.usesPgvector();
    const { result } = await this.db.transaction(async (tx) => {
      const [doc] = await tx.query<{ content_hash: string }>(
        `select content_hash from knowledge_documents where tenant_id = $1 and id = $2 for update`,
        [tenantId, documentId],
      );
      if (!doc || doc.content_hash !== contentHash) return false;
      await tx.query('delete from knowledge_chunks where tenant_id = $1 and document_id = $2', [
        tenantId,
        documentId,
      ]);
      for (const chunk of chunks) {
        const params = [
          tenantId,
          documentId,
          chunk.ord,
          chunk.headings.join(' › '),
          chunk.text,
          chunk.contentHash,
          model,
          chunk.embedding,
        ];
        await tx.query(
          pgvector
            ? `insert into knowledge_chunks (tenant_id, document_id, ord, heading, text, content_hash, model,
                                             embedding, embedding_vector)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector)`
            : `insert into knowledge_chunks (tenant_id, document_id, ord, heading, text, content_hash, model,
                                             embedding)
               values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          pgvector ? [...params, `[${chunk.embedding.join(',')}]`] : params,
        );
      }
      await tx.query(
        `update knowledge_documents set status = 'ready', error = null, chunk_count = $3, updated_at = now()
          where tenant_id = $1 and id = $2`,
        [tenantId, documentId, chunks.length],
      );
      await tx.query('update tenants set knowledge_version = knowledge_version + 1 where id = $1', [
        tenantId,
      ]);
      return true;
    });
    return result;
  }

  /** Records why a document could not be ingested. */
  async markFailed(tenantId: string, documentId: string, error: string): Promise<void> {
    await this.db.transaction((tx) =>
      tx.query(
        `update knowledge_documents set status = 'failed', error = $3, updated_at = now()
          where tenant_id = $1 and id = $2`,
        [tenantId, documentId, error.slice(0, 500)],
      ),
    );
  }

  /** Deletes a document and its chunks; false when the tenant has no such document. */
  async deleteDocument(tenantId: string, documentId: string): Promise<boolean> {
    const { result } = await this.db.transaction(async (tx) => {
      const deleted = await tx.query(
        'delete from knowledge_documents where tenant_id = $1 and id = $2 returning id',
        [tenantId, documentId],
      );
      if (deleted.length === 0) return false;
      await tx.query('update tenants set knowledge_version = knowledge_version + 1 where id = $1', [
        tenantId,
      ]);
      return true;
    });
    return result;
  }

  /** A document's text to ingest, with the document as it is now; null when there is no such document. */
  async content(
    tenantId: string,
    documentId: string,
  ): Promise<{ document: KnowledgeDocument; content: string } | null> {
    const [row] = await this.db.read<DocumentRow & { content: string }>(
      `select ${DOCUMENT_COLUMNS}, content from knowledge_documents where tenant_id = $1 and id = $2`,
      [tenantId, documentId],
      'primary',
    );
    return row ? { document: toDocument(row), content: row.content } : null;
  }

  async document(tenantId: string, documentId: string): Promise<KnowledgeDocument | null> {
    const [row] = await this.db.read<DocumentRow>(
      `select ${DOCUMENT_COLUMNS} from knowledge_documents where tenant_id = $1 and id = $2`,
      [tenantId, documentId],
      'primary',
    );
    return row ? toDocument(row) : null;
  }

  /** The tenant's documents, as written (read from the primary: operators see their changes at once). */
  async documents(tenantId: string): Promise<KnowledgeDocument[]> {
    const rows = await this.db.read<DocumentRow>(
      `select ${DOCUMENT_COLUMNS} from knowledge_documents where tenant_id = $1
        order by title, id limit 1000`,
      [tenantId],
      'primary',
    );
    return rows.map(toDocument);
  }

  /**
   * The tenant's passages for a question, best first: the lexical ranking
   * (Postgres full text, any of the question's words), the vector ranking
   * (cosine to the question's embedding, same model only), or both fused
   * by reciprocal rank (`hybrid`, the default).
   */
  async search(
    tenantId: string,
    query: { text: string; embedding?: number[]; model?: string },
    options: { limit?: number; ranking?: Ranking; depth?: number } = {},
  ): Promise<Passage[]> {
    const ranking = options.ranking ?? 'hybrid';
    const limit = options.limit ?? 5;
    const depth = Math.max(limit, options.depth ?? 20);
    const [lexical, vector] = await Promise.all([
      ranking === 'vector' ? [] : this.lexical(tenantId, query.text, depth),
      ranking === 'lexical' || !query.embedding || !query.model
        ? []
        : this.vector(tenantId, query.embedding, query.model, depth),
    ]);
    const fused = new Map<string, Passage>();
    const place = (rows: HitRow[], which: 'lexical' | 'vector') =>
      rows.forEach((row, i) => {
        const key = `${row.document_id}\u0000${row.ord}`;
        const passage =
          fused.get(key) ??
          ({
            documentId: row.document_id,
            title: row.title,
            source: row.source,
            ord: Number(row.ord),
            heading: row.heading,
            text: row.text,
            score: 0,
            similarity: null,
            lexicalRank: null,
            vectorRank: null,
          } satisfies Passage);
        passage.score += 1 / (RRF_K + i + 1);
        if (which === 'lexical') passage.lexicalRank = i + 1;
        else {
          passage.vectorRank = i + 1;
          passage.similarity = Number(row.score);
        }
        fused.set(key, passage);
      });
    place(lexical, 'lexical');
    place(vector, 'vector');
    return [...fused.values()]
      .sort(
        (a, b) => b.score - a.score || a.documentId.localeCompare(b.documentId) || a.ord - b.ord,
      )
      .slice(0, limit);
  }

  private lexical(tenantId: string, text: string, depth: number): Promise<HitRow[]> {
    // Any of the question's words (plainto_tsquery would ask for all of them).
    return this.db
      .read<HitRow>(
        `select c.document_id, d.title, d.source, c.ord, c.heading, c.text,
              ts_rank_cd(c.tsv, q) as score
         from knowledge_chunks c
         join knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id,
              to_tsquery('english', replace(plainto_tsquery('english', $2)::text, ' & ', ' | ')) q
        where c.tenant_id = $1 and c.tsv @@ q
        order by score desc, c.document_id, c.ord
        limit $3`,
        [tenantId, text, depth],
      )
      .catch((err: unknown) => {
        // A question with no searchable word makes an empty tsquery: nothing matches lexically.
        if (/tsquery|syntax error/i.test(String(err))) return [];
        throw err;
      });
  }

  private async vector(
    tenantId: string,
    embedding: number[],
    model: string,
    depth: number,
  ): Promise<HitRow[]> {
    const columns = `c.document_id, d.title, d.source, c.ord, c.heading, c.text`;
    const from = `knowledge_chunks c
         join knowledge_documents d on d.tenant_id = c.tenant_id and d.id = c.document_id`;
    if (await this.usesPgvector())
      return this.db.read<HitRow>(
        `select ${columns}, 1 - (c.embedding_vector <=> $2::vector) as score
           from ${from}
          where c.tenant_id = $1 and c.model = $3
          order by c.embedding_vector <=> $2::vector, c.document_id, c.ord
          limit $4`,
        [tenantId, `[${embedding.join(',')}]`, model, depth],
      );
    // Exact cosine over the stored vectors (they are unit length: the dot product).
    return this.db.read<HitRow>(
      `select ${columns},
              (select sum(a::float8 * b::float8) from unnest(c.embedding, $2::real[]) as v(a, b)) as score
         from ${from}
        where c.tenant_id = $1 and c.model = $3
        order by score desc, c.document_id, c.ord
        limit $4`,
      [tenantId, embedding, model, depth],
    );
  }
}

function toDocument(row: DocumentRow): KnowledgeDocument {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    title: row.title,
    source: row.source,
    format: row.format,
    contentHash: row.content_hash,
    status: row.status,
    error: row.error,
    chunkCount: row.chunk_count,
    updatedAt: (row.updated_at instanceof Date
      ? row.updated_at
      : new Date(row.updated_at)
    ).toISOString(),
  };
}
