import { describe, expect, it } from 'vitest';
import type { Incident } from './domain/incidents.js';
import type { BoardView } from './domain/status-board.js';
import { escapeHtml, renderStatusPage, statusDocument } from './status-page.js';

const view: BoardView = {
  stale: false,
  overall: 'degraded',
  level: 'L2',
  components: [
    { id: 'gateway', state: 'operational', stale: false, instances: 3 },
    { id: 'ai', state: 'degraded', stale: false, instances: 2 },
    { id: 'synthetic-chat', state: 'operational', stale: false, instances: 1 },
  ],
  probe: {
    success: true,
    at: '2026-11-26T10:00:00.000Z',
    latencySeconds: { total: 1.234 },
    fresh: true,
  },
};
const hostile = '<img src=x onerror="alert(1)">&\'';
const incident: Incident = {
  id: 'inc-1',
  title: hostile,
  status: 'identified',
  components: ['ai'],
  createdAt: '2026-11-26T09:00:00.000Z',
  updatedAt: '2026-11-26T09:30:00.000Z',
  resolvedAt: null,
  updates: [
    {
      seq: 1,
      template: 'investigating',
      status: 'investigating',
      text: 'first',
      at: '2026-11-26T09:00:00.000Z',
    },
    {
      seq: 2,
      template: 'update',
      status: 'identified',
      text: `second ${hostile}`,
      at: '2026-11-26T09:30:00.000Z',
    },
  ],
};

describe('the status page', () => {
  it('publishes names, states, the level, the probe and incident texts, newest update first, and nothing internal', () => {
    const doc = statusDocument(
      view,
      { incidents: [incident], stale: false },
      new Date('2026-11-26T10:00:05Z'),
    );
    expect(doc.level).toEqual({ level: 'L2', text: 'Answers without the help-center articles' });
    expect(doc.components.map((c) => [c.name, c.stateText])).toEqual([
      ['Chat widget and API', 'Operational'],
      ['AI assistant', 'Degraded'],
      ['Synthetic chat', 'Operational'],
    ]);
    expect(doc.components[2]!.detail).toBe('Last run 2026-11-26 10:00:00 UTC: answered in 1.23 s');
    expect(doc.incidents[0]!.components).toEqual(['AI assistant']);
    expect(doc.incidents[0]!.updates.map((u) => u.text)).toEqual([`second ${hostile}`, 'first']);
    expect(JSON.stringify(doc)).not.toMatch(/instances|dependencies|reasons/);
  });

  it('escapes every text it renders', () => {
    const doc = statusDocument(view, { incidents: [incident], stale: true }, new Date());
    const html = renderStatusPage(doc, { pollSeconds: 15 });
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml(hostile));
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;');
    expect(html).toContain('data-poll-seconds="15"');
    expect(html).toContain('<p id="stale">');
    expect(html).toContain('Assistant: Answers without the help-center articles (L2)');
  });
});
