import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually } from '@parley/testing';
import { knowledgeFields } from '../src/config.js';
import { knowledgeModule } from '../src/module.js';

/**
 * The knowledge module as the embedding service mounts it, on the embedded
 * ports: an upload is ingested by a job on its own topic and found by
 * search, for its tenant only.
 */
const ADMIN = 'operator-token-0123456789abcdef';
const SEARCH = 'search-token-0123456789abcdef';
let app: FastifyInstance;

beforeAll(async () => {
  app = createApp({
    service: 'embedding',
    logger: createLogger({ service: 'embedding', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'embedding', processMetrics: false }),
  });
  await app.register(embeddedPorts, {});
  await migrate(app.ports.db);
  const tenants = new ConversationStore(app.ports.db);
  for (const id of ['kb-a', 'kb-b'])
    await tenants.upsertTenant({ id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [] });
  const settings = loadConfig(knowledgeFields, {
    PARLEY_ADMIN_TOKEN: ADMIN,
    KNOWLEDGE_SEARCH_TOKEN: SEARCH,
  });
  await app.register(knowledgeModule, { settings });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

const search = (tenantId: string, query: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/knowledge/${tenantId}/search`,
    headers: { authorization: `Bearer ${SEARCH}` },
    payload: { query },
  });

describe('the knowledge module on the embedded ports', () => {
  it('ingests an uploaded document through its job and finds it by search, for its tenant only', async () => {
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/knowledge/kb-a/documents',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: {
        id: 'descaling',
        title: 'Descaling the espresso machine',
        format: 'markdown',
        content: '# Descaling\n\nDescale the espresso machine every 200 cups with citric acid.',
      },
    });
    expect(upload.statusCode).toBe(202);
    await expectEventually(async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/v1/knowledge/kb-a/documents/descaling',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(res.json().document.status).toBe('ready');
    });
    const found = await search('kb-a', 'how often should I descale the espresso machine?');
    expect(found.statusCode).toBe(200);
    expect(found.json().passages[0]).toMatchObject({ documentId: 'descaling' });
    const other = await search('kb-b', 'how often should I descale the espresso machine?');
    expect(other.json().passages).toEqual([]);
    expect(await app.metrics.metrics()).toMatch(/^knowledge_chunks_ingested_total\{[^}]*\} [1-9]/m);
  });

  it('refuses uploads without the operators’ token and search without its own', async () => {
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/knowledge/kb-a/documents',
      headers: { authorization: `Bearer ${SEARCH}` },
      payload: { title: 'x', format: 'text', content: 'x' },
    });
    expect(upload.statusCode).toBe(401);
    expect(upload.json().code).toMatch(/^EMB_ERR_/);
    const found = await app.inject({
      method: 'POST',
      url: '/v1/knowledge/kb-a/search',
      payload: { query: 'descale' },
    });
    expect(found.statusCode).toBe(401);
  });

  it('answers fastify’s refusals on its routes as EMB_ERR_*', async () => {
    const headers = { authorization: `Bearer ${SEARCH}`, 'content-type': 'application/json' };
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/knowledge/kb-a/search',
      headers,
      payload: '{"query":',
    });
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'EMB_ERR_BAD_REQUEST']);
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/knowledge/kb-a/search',
      headers,
      payload: JSON.stringify({ query: 'x'.repeat(1_100_000) }),
    });
    expect([huge.statusCode, huge.json().code]).toEqual([413, 'EMB_ERR_PAYLOAD_TOO_LARGE']);
  });
});
