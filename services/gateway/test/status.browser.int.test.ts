import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  axeViolations,
  CHROMIUM,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from '@parley/testing';

/**
 * The status page in headless Chromium, served by a gateway process whose
 * board hears a real AI process over the shared Redis: the rows and the
 * level render, the level follows the AI's degradation, and incidents an
 * operator posts through the API appear on the page's next poll, up to
 * resolved, their texts shown as text.
 */
const TOKEN = 'operator-token-0123456789abcdef';
const run = randomUUID().slice(0, 8);
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);

let db: PgDatabase;
let gateway: ServiceProcess;
const procs: ServiceProcess[] = [];
let browser: Browser;
/** The AI's knowledge-base health check; off makes its level L2. */
let knowledge: Server;
let knowledgeUp = true;

beforeAll(async () => {
  knowledge = createServer((_req, res) => res.writeHead(knowledgeUp ? 200 : 503).end());
  await new Promise<void>((resolve) => knowledge.listen(0, '127.0.0.1', resolve));
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  const env = {
    ...serviceEnv({ isolate: run }),
    PARLEY_ADMIN_TOKEN: TOKEN,
    STATUS_COMPONENTS: 'gateway,ai',
    STATUS_PAGE_POLL_SECONDS: '2',
    AI_KNOWLEDGE_HEALTH_URL: `http://127.0.0.1:${(knowledge.address() as AddressInfo).port}/`,
    AI_DEGRADATION_INTERVAL_MS: '500',
  };
  gateway = await startServiceProcess(entry('@parley/gateway'), { env, startTimeoutMs: 60_000 });
  procs.push(gateway);
  procs.push(await startServiceProcess(entry('@parley/ai'), { env, startTimeoutMs: 60_000 }));
  browser = await chromium.launch(CHROMIUM);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  knowledge?.close();
  await db?.close();
});

async function operator(path: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${gateway.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { id: string };
}

describe('the status page in headless Chromium', () => {
  let page: Page;
  const problems: string[] = [];

  it('shows the components and the level, and follows the AI into L2 and back', async () => {
    page = await browser.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
    // Failed loads are reported by URL below (the browser's own favicon request aside).
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
        problems.push(msg.text());
    });
    page.on('response', (res) => {
      if (res.status() >= 400 && !res.url().endsWith('/favicon.ico'))
        problems.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${gateway.baseUrl}/status`);
    // The first render may predate the AI's first report; the page's polls catch up.
    await page.waitForSelector('.component[data-component="ai"][data-state="operational"]');
    await page.waitForSelector('#level[data-level="L0"]');
    expect(await page.$$eval('.component .name', (els) => els.map((e) => e.textContent))).toEqual([
      'Chat widget and API',
      'AI assistant',
    ]);
    expect(await page.textContent('#overall')).toBe('All systems operational');
    expect(await axeViolations(page)).toEqual([]);

    knowledgeUp = false;
    await page.waitForSelector('#level[data-level="L2"]');
    // Degraded colours are readable too.
    expect(await axeViolations(page)).toEqual([]);
    expect(await page.textContent('#level')).toBe(
      'Assistant: Answers without the help-center articles (L2)',
    );
    expect(await page.getAttribute('#overall', 'data-state')).toBe('degraded');
    knowledgeUp = true;
    await page.waitForSelector('#level[data-level="L0"]');
  });

  it('shows an incident posted through the API after its next poll, its updates, and its resolution', async () => {
    const title = `Slow answers <img src=x onerror="window.pwned=1"> ${run}`;
    const { id } = await operator('/admin/incidents', {
      title,
      components: ['ai'],
      template: 'investigating',
    });
    const incident = `.incident[data-incident="${id}"]`;
    await page.waitForSelector(`${incident}[data-status="investigating"]`);
    expect(await page.textContent(`${incident} h3`)).toBe(title);
    expect(await page.$$(`${incident} img`)).toHaveLength(0);
    expect(await page.textContent(`${incident} .meta`)).toBe(
      'Investigating · affects AI assistant',
    );
    expect(await page.isHidden('#no-incidents')).toBe(true);

    await operator(`/admin/incidents/${id}/updates`, {
      template: 'update',
      params: { eta: '45 minutes' },
      status: 'monitoring',
    });
    await page.waitForSelector(`${incident}[data-status="monitoring"]`);
    expect(await page.textContent(`${incident} .updates li:first-child .text`)).toContain(
      'We expect full service within 45 minutes.',
    );

    await operator(`/admin/incidents/${id}/resolve`, {
      template: 'resolved',
      params: { cause: 'a slow model provider', resolution: 'failing over to another' },
    });
    await page.waitForSelector(`${incident}[data-status="resolved"]`);
    expect(
      await page.$$eval(`${incident} .updates li strong`, (els) => els.map((e) => e.textContent)),
    ).toEqual(['Resolved', 'Monitoring', 'Investigating']);
    expect(await page.textContent(`${incident} .updates li:first-child .text`)).toContain(
      'It was caused by a slow model provider and resolved by failing over to another.',
    );
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    // A reload renders the same on the server.
    await page.reload();
    await page.waitForSelector(`${incident}[data-status="resolved"]`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
