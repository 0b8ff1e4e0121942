import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetClient, expectEventually } from '@parley/testing';
import { DEMO_WIDGET_KEY } from '../src/index.js';
import { startPlatform, type Running } from './start.js';

/**
 * The knowledge base in the embedded mode: an upload through the same API as
 * the embedding service, ingested in-process with the offline embedder, and
 * answered from (with its source) by the assistant, without any model key.
 */
const ADMIN = 'operator-token-0123456789abcdef';
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform({ PARLEY_ADMIN_TOKEN: ADMIN });
});
afterAll(() => platform?.close());

async function upload(body: Record<string, unknown>) {
  const res = await fetch(`${platform.baseUrl}/v1/knowledge/demo/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { document: { id: string; status: string } },
  };
}

describe('answers from the knowledge base (embedded)', () => {
  it('answers a question from an uploaded document and shows it as the source in the widget', async () => {
    const uploaded = await upload({
      id: 'warranty',
      title: 'Blender warranty',
      source: 'https://help.parley.demo/warranty',
      format: 'markdown',
      content:
        '# Warranty\n\nEvery Parley blender comes with a warranty of two years from the date of purchase. The warranty covers the motor and the jar.',
    });
    expect(uploaded.status).toBe(202);
    await expectEventually(async () => {
      const doc = await platform.app.platform.knowledge.store.document('demo', 'warranty');
      expect(doc?.status).toBe('ready');
    });
    const visitor = await WidgetClient.connect(platform.baseUrl, {
      widgetKey: DEMO_WIDGET_KEY,
      origin: platform.origin,
    });
    try {
      visitor.send({ type: 'resume', afterSeq: 0 });
      visitor.send({
        type: 'message',
        clientMessageId: 'w',
        text: 'How long is the warranty on the blender?',
      });
      const answer = await visitor.waitFor((f) => f.type === 'message' && f.role === 'assistant');
      expect(answer.text).toMatch(
        /^From “Blender warranty”: Every Parley blender comes with a warranty of two years/,
      );
      expect(answer.sources).toEqual([
        { title: 'Blender warranty', url: 'https://help.parley.demo/warranty' },
      ]);
      // Still answered from the FAQ where the knowledge base has nothing.
      visitor.send({ type: 'message', clientMessageId: 'h', text: 'What are your opening hours?' });
      const hours = await visitor.waitFor(
        (f) => f.type === 'message' && f.role === 'assistant' && f.clientMessageId === 'reply:3',
      );
      expect(hours.text).toMatch(/Monday to Friday/);
      expect(hours.sources).toBeUndefined();
    } finally {
      visitor.close();
    }
  });
});

describe('the bundled demo knowledge base (embedded)', () => {
  it('is loaded at start, and the demo answers from it with the document as its source', async () => {
    const demo = await startPlatform({ PARLEY_DEMO_KNOWLEDGE: 'true' });
    try {
      // Loaded once the port is known (with the demo tenant).
      await expectEventually(async () => {
        const documents = await demo.app.platform.knowledge.store.documents('demo');
        expect(documents.length).toBeGreaterThanOrEqual(30);
        expect(documents.every((d) => d.status === 'ready')).toBe(true);
      });
      const visitor = await WidgetClient.connect(demo.baseUrl, {
        widgetKey: DEMO_WIDGET_KEY,
        origin: demo.origin,
      });
      try {
        visitor.send({ type: 'resume', afterSeq: 0 });
        visitor.send({
          type: 'message',
          clientMessageId: 'q',
          text: 'How many years of warranty do I get on a PowerBlend blender?',
        });
        const answer = await visitor.waitFor((f) => f.type === 'message' && f.role === 'assistant');
        expect(answer.text).toMatch(/^From “Blender Warranty”: .*3-year manufacturer warranty/);
        expect(answer.sources).toEqual([{ title: 'Blender Warranty', url: null }]);
      } finally {
        visitor.close();
      }
    } finally {
      await demo.close();
    }
  });
});
