import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EventRegistry, idSchema, knowledgeIngestRequestedV1 } from '@parley/contracts';
import {
  DOCUMENT_FORMATS,
  contentHash,
  type KnowledgeStore,
  type Passage,
  type Ranking,
} from '@parley/knowledge';

/** A tenant's passages for a question, with its knowledge version. */
export type KnowledgeSearchFn = (
  tenantId: string,
  query: string,
  options?: { ranking?: Ranking; limit?: number },
) => Promise<{ passages: Passage[]; version: number }>;
import type { EventBus } from '@parley/ports';
import { parseInput, requireOperator, type SafeParser } from '@parley/service-kit';
import type { KnowledgeDocument } from '@parley/knowledge';
import { extractPdfText } from '../adapters/pdf.js';
import { KNOWLEDGE_ERROR_PREFIX, knowledgeError, type KnowledgeErrorCode } from '../errors.js';

/** What the knowledge API needs. */
export interface KnowledgeRoutesOptions {
  /** Operators' token: manages every tenant's knowledge base. Empty: the management API is off. */
  adminToken: string;
  /** The AI service's token for search. Empty: search is off. */
  searchToken: string;
  store: KnowledgeStore;
  /** The bus of `knowledge-jobs`. */
  jobs: EventBus;
  /** Searches a tenant's knowledge base (the question embedded with the chunks' model). */
  search: KnowledgeSearchFn;
  /** Largest document accepted, in bytes of text. */
  maxDocumentBytes: number;
}

const tenantParam = z.object({ tenantId: idSchema });
const documentParam = tenantParam.extend({ documentId: idSchema });
const uploadBody = z.strictObject({
  id: idSchema.optional(),
  title: z.string().trim().min(1).max(300),
  /** Where it came from (URL or file name): shown as the answer's source. */
  source: z.string().trim().min(1).max(2_000).optional(),
  format: z.enum([...DOCUMENT_FORMATS, 'pdf']),
  /** The document's text (Markdown, HTML or plain text). */
  content: z.string().max(20_000_000).optional(),
  /** A PDF, base64-encoded. */
  contentBase64: z.string().max(30_000_000).optional(),
});
const searchBody = z.strictObject({
  query: z.string().trim().min(1).max(2_000),
  limit: z.number().int().min(1).max(20).optional(),
  ranking: z.enum(['lexical', 'vector', 'hybrid']).optional(),
});

/** A document as stored (`KnowledgeDocument`): its ingestion status, not its text. */
const documentSchema = z.object({
  tenantId: z.string(),
  id: z.string(),
  title: z.string(),
  source: z.string().nullable(),
  format: z.enum([...DOCUMENT_FORMATS, 'pdf']),
  contentHash: z.string(),
  status: z.enum(['pending', 'ready', 'failed']),
  error: z.string().nullable(),
  chunkCount: z.number().int(),
  updatedAt: z.string(),
}) satisfies z.ZodType<KnowledgeDocument>;
const documentAnswer = z.object({ document: documentSchema });
const version = z
  .number()
  .int()
  .describe("The tenant's knowledge version (changes with every edit)");
const searchAnswer = z.object({
  passages: z.array(
    z.object({
      documentId: z.string(),
      title: z.string(),
      source: z.string().nullable(),
      ord: z.number().int(),
      heading: z.string(),
      text: z.string(),
      score: z.number().describe('Reciprocal rank fusion of both rankings (higher is better)'),
      similarity: z.number().nullable(),
      lexicalRank: z.number().int().nullable(),
      vectorRank: z.number().int().nullable(),
    }),
  ),
  version,
});

const parse = <T>(schema: SafeParser<T>, value: unknown): T =>
  parseInput(schema, value, 'EMB_ERR_INVALID' satisfies KnowledgeErrorCode);

/**
 * The knowledge API. Operators (`PARLEY_ADMIN_TOKEN`) manage a tenant's
 * documents: upload (Markdown, HTML, text, PDF; stored, then ingested by a
 * job over Kafka: 202), list, read, re-ingest, delete. The AI service
 * (`KNOWLEDGE_SEARCH_TOKEN`) searches. Every query names the tenant.
 */
export async function knowledgeRoutes(
  app: FastifyInstance,
  options: KnowledgeRoutesOptions,
): Promise<void> {
  const { store, jobs } = options;
  const registry = new EventRegistry([knowledgeIngestRequestedV1]);
  const requestIngestion = (tenantId: string, documentId: string, hash: string) =>
    jobs.publish(
      registry.create(knowledgeIngestRequestedV1, {
        conversationId: `kb:${documentId}`,
        tenantId,
        payload: { document_id: documentId, content_hash: hash },
      }),
    );
  const tenantOf = async (params: unknown) => {
    const { tenantId } = parse(tenantParam, params);
    if (!(await store.tenantExists(tenantId)))
      throw knowledgeError('EMB_ERR_UNKNOWN_TENANT', 'No such tenant');
    return tenantId;
  };

  await app.register(async (admin) => {
    requireOperator(admin, { token: options.adminToken, codePrefix: KNOWLEDGE_ERROR_PREFIX });

    admin.post(
      '/v1/knowledge/:tenantId/documents',
      {
        bodyLimit: 32 * 1024 * 1024,
        schema: {
          summary: 'Uploads a document: stored, then ingested by a job (202; 200 when unchanged)',
          description:
            'Markdown, HTML or text as `content`; a PDF as `contentBase64`. Without `id`, the content hash names it.',
          params: tenantParam,
          body: uploadBody,
          response: {
            200: documentAnswer.extend({ duplicate: z.literal(true) }),
            202: documentAnswer.extend({ duplicate: z.literal(false) }),
          },
        },
      },
      async (request, reply) => {
        const tenantId = await tenantOf(request.params);
        const body = parse(uploadBody, request.body);
        let text: string;
        if (body.format === 'pdf') {
          if (!body.contentBase64)
            throw knowledgeError('EMB_ERR_INVALID', 'a PDF comes as contentBase64');
          text = await extractPdfText(Buffer.from(body.contentBase64, 'base64')).catch(() => {
            throw knowledgeError('EMB_ERR_UNREADABLE', 'The PDF could not be read');
          });
        } else {
          if (body.content === undefined)
            throw knowledgeError('EMB_ERR_INVALID', `a ${body.format} document comes as content`);
          text = body.content;
        }
        if (Buffer.byteLength(text) > options.maxDocumentBytes)
          throw knowledgeError(
            'EMB_ERR_TOO_LARGE',
            `The document's text is over ${options.maxDocumentBytes} bytes`,
          );
        if (!text.trim()) throw knowledgeError('EMB_ERR_EMPTY', 'The document has no text');
        const hash = contentHash(text);
        const { document, duplicate } = await store.upsertDocument({
          tenantId,
          id: body.id ?? hash.slice(0, 24),
          title: body.title,
          source: body.source ?? null,
          format: body.format,
          content: text,
          contentHash: hash,
        });
        if (!duplicate && document.status === 'pending')
          await requestIngestion(tenantId, document.id, hash);
        return reply.code(duplicate ? 200 : 202).send({ document, duplicate });
      },
    );

    admin.get(
      '/v1/knowledge/:tenantId/documents',
      {
        schema: {
          summary: "A tenant's documents and knowledge version",
          params: tenantParam,
          response: { 200: z.object({ documents: z.array(documentSchema), version }) },
        },
      },
      async (request) => {
        const tenantId = await tenantOf(request.params);
        return {
          documents: await store.documents(tenantId),
          version: await store.version(tenantId, 'primary'),
        };
      },
    );

    admin.get(
      '/v1/knowledge/:tenantId/documents/:documentId',
      {
        schema: {
          summary: 'A document and its ingestion status',
          params: documentParam,
          response: { 200: documentAnswer },
        },
      },
      async (request) => {
        const { tenantId, documentId } = parse(documentParam, request.params);
        const document = await store.document(tenantId, documentId);
        if (!document) throw knowledgeError('EMB_ERR_NOT_FOUND', 'No such document');
        return { document };
      },
    );

    admin.post(
      '/v1/knowledge/:tenantId/documents/:documentId/reingest',
      {
        schema: {
          summary: 'Ingests a document again (after a change of embedding model)',
          params: documentParam,
          response: { 202: documentAnswer },
        },
      },
      async (request, reply) => {
        const { tenantId, documentId } = parse(documentParam, request.params);
        const document = await store.document(tenantId, documentId);
        if (!document) throw knowledgeError('EMB_ERR_NOT_FOUND', 'No such document');
        await requestIngestion(tenantId, documentId, document.contentHash);
        return reply.code(202).send({ document });
      },
    );

    admin.delete(
      '/v1/knowledge/:tenantId/documents/:documentId',
      {
        schema: {
          summary: 'Deletes a document and its chunks',
          params: documentParam,
          response: { 200: z.object({ deleted: z.string(), version }) },
        },
      },
      async (request) => {
        const { tenantId, documentId } = parse(documentParam, request.params);
        if (!(await store.deleteDocument(tenantId, documentId)))
          throw knowledgeError('EMB_ERR_NOT_FOUND', 'No such document');
        return { deleted: documentId, version: await store.version(tenantId, 'primary') };
      },
    );
  });

  await app.register(async (search) => {
    requireOperator(search, {
      token: options.searchToken,
      codePrefix: KNOWLEDGE_ERROR_PREFIX,
      securityScheme: {
        searchToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The AI service's token (`KNOWLEDGE_SEARCH_TOKEN`); without one, search answers 404",
        },
      },
    });
    search.post(
      '/v1/knowledge/:tenantId/search',
      {
        schema: {
          summary: "Searches a tenant's knowledge base (the AI service's call)",
          params: tenantParam,
          body: searchBody,
          response: { 200: searchAnswer },
        },
      },
      async (request) => {
        const { tenantId } = parse(tenantParam, request.params);
        const body = parse(searchBody, request.body);
        return options.search(tenantId, body.query, {
          ...(body.ranking ? { ranking: body.ranking } : {}),
          ...(body.limit ? { limit: body.limit } : {}),
        });
      },
    );
  });
}
