import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  CHROMIUM,
  expectEventually,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startFakeLlm,
  startServiceProcess,
  type FakeLlm,
  type ServiceProcess,
} from '@parley/testing';
import { AgentStore, HitlSettingsStore } from '../src/index.js';

/**
 * The agent console and the widget in real headless Chromium, against the
 * distributed platform: gateway, chat, AI and hitl as separate processes on
 * real Kafka, Postgres and Redis, the AI's model a local server speaking
 * OpenAI's API, and the AI's dependencies' health a local server the test
 * turns off. Each escalation trigger brings its conversation to the console
 * with its reason; messages flow both ways; transfer and close work; after
 * close the bot answers again.
 */
const run = randomUUID().slice(0, 8);
const tenantId = `console-${run}`;
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);

let db: PgDatabase;
let llm: FakeLlm;
/** The tenant's web site (a page embedding the widget) and its systems' health checks. */
let site: Server;
let SITE: string;
const dependencies = { knowledge: true, backend: true };
const procs: ServiceProcess[] = [];
let gateway: ServiceProcess;
let hitl: ServiceProcess;
let ai: ServiceProcess;
let browser: Browser;
let console: Page;

beforeAll(async () => {
  site = createServer((req, res) => {
    if (req.url === '/')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><html lang="en"><body><h1>Shop</h1>
         <script src="${gateway.baseUrl}/widget.js" data-widget-key="pk_${tenantId}"></script>
         </body></html>`,
      );
    const up = req.url === '/knowledge' ? dependencies.knowledge : dependencies.backend;
    res.writeHead(up ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  SITE = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [SITE],
    aiSettings: { handoff_keywords: ['cancel my contract'] },
  });
  await new HitlSettingsStore(db).setSettings(tenantId, {
    routes: [{ queue: 'billing', keywords: ['invoice'] }],
  });
  for (const [id, name] of [
    ['ana', 'Ana'],
    ['ben', 'Ben'],
  ])
    await new AgentStore(db).upsertAgent({
      tenantId,
      id: id!,
      email: `${id}@${tenantId}.test`,
      name: name!,
      password: `${name}-password`,
      maxConcurrent: 10,
      skills: ['billing'],
    });
  llm = await startFakeLlm();
  const env = {
    ...serviceEnv({ isolate: run }),
    RATE_LIMIT_IP_BURST: '100000',
    RATE_LIMIT_IP_PER_SECOND: '100000',
    OPENAI_API_KEY: 'sk-test-console',
    OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
    AI_KNOWLEDGE_HEALTH_URL: `${SITE}/knowledge`,
    AI_BACKEND_HEALTH_URL: `${SITE}/backend`,
    AI_DEGRADATION_INTERVAL_MS: '500',
  };
  const started = await Promise.all(
    (['@parley/gateway', '@parley/chat', '@parley/ai', '@parley/hitl'] as const).map((s) =>
      startServiceProcess(entry(s), { env, startTimeoutMs: 60_000 }),
    ),
  );
  procs.push(...started);
  [gateway, , ai, hitl] = started as [
    ServiceProcess,
    ServiceProcess,
    ServiceProcess,
    ServiceProcess,
  ];
  browser = await chromium.launch(CHROMIUM);
  console = await browser.newPage();
  await console.goto(`${hitl.baseUrl}/console/`);
  await console.fill('input[name=tenantId]', tenantId);
  await console.fill('input[name=email]', `ana@${tenantId}.test`);
  await console.fill('input[name=password]', 'Ana-password');
  await console.press('input[name=password]', 'Enter');
  await console.waitForSelector('#live >> text=live');
}, 180_000);

describe('the signed-in console', () => {
  it('shows the desk, and no longer the sign-in card, at 1280×860', async () => {
    await console.setViewportSize({ width: 1280, height: 860 });
    expect(await console.locator('#desk').isVisible()).toBe(true);
    expect(await console.locator('#sign-in').isVisible()).toBe(false);
    expect(await console.locator('#sign-in').boundingBox()).toBeNull();
    expect(await console.locator('input[name=password]').isVisible()).toBe(false);
  });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop('SIGTERM').catch(() => undefined)));
  await llm?.close();
  site?.close();
  await db?.close();
});

/** A new visitor (own browser context) on the tenant's site, with the widget loaded from the gateway. */
async function visitor(): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  await page.waitForSelector('.parley-root[data-connection=online]', { timeout: 20_000 });
  return { page, context };
}

async function ask(page: Page, text: string): Promise<void> {
  await page.fill('.parley-input', text);
  await page.press('.parley-input', 'Enter');
}

/** The widget keeps its conversation id in the page's localStorage. */
type PageGlobals = { localStorage: { getItem(key: string): string | null } };
const conversationOf = (page: Page) =>
  page.evaluate((key) => {
    const stored = (globalThis as unknown as PageGlobals).localStorage.getItem(key);
    return (JSON.parse(stored ?? '{}') as { conversationId: string }).conversationId;
  }, `parley:pk_${tenantId}`);

/** The AI service's degradation level, as its readiness check reports it. */
async function aiLevel(): Promise<string | undefined> {
  const res = await fetch(`${ai.baseUrl}/readyz`);
  const body = (await res.json()) as { checks: { degradation?: { details?: { level?: string } } } };
  return body.checks.degradation?.details?.level;
}

/** Waits for the conversation in the console's queue, checks its reason, opens it and accepts it. */
async function takeOver(page: Page, reason: RegExp): Promise<void> {
  const id = await conversationOf(page);
  const joined = () =>
    page.$$eval(
      '.parley-system',
      (els) => els.filter((e) => e.textContent === 'Ana joined the conversation.').length,
    );
  const before = await joined();
  // The list is redrawn on every queue change: find the item afresh for each step.
  const waiting = console.locator(`#queue li[data-conversation-id="${id}"]`);
  await expect.poll(() => waiting.textContent(), { timeout: 30_000 }).toMatch(reason);
  await waiting.click();
  await expect.poll(() => console.textContent('#reason'), { timeout: 10_000 }).toMatch(reason);
  await console.click('#accept');
  await expect.poll(joined, { timeout: 20_000 }).toBe(before + 1);
  await console.waitForSelector('#close:not([hidden])');
}

/** Closes the open conversation from the console; the widget says the assistant is back. */
async function close(page: Page): Promise<void> {
  await console.click('#close');
  await page.waitForSelector('.parley-system >> text=The agent has left the conversation.', {
    timeout: 20_000,
  });
}

describe('the agent console and the widget on the distributed platform (Chromium)', () => {
  it('takes over a visitor who asked for a person: messages both ways, transfer to a queue and back, close, and the bot answers again', async () => {
    llm.behave({ mode: 'ok', text: 'yes' }); // the intent call: the visitor does want a person
    const { page, context } = await visitor();
    await ask(page, 'I want to talk to a human please');
    await page.waitForSelector('.parley-handoff >> text=Waiting for a member of our team', {
      timeout: 20_000,
    });
    await takeOver(page, /user request/);

    await console.fill('#text', 'Hello, Ana here. How can I help?');
    await console.press('#text', 'Enter');
    await page.waitForSelector('.parley-agent >> text=Hello, Ana here. How can I help?', {
      timeout: 20_000,
    });
    await ask(page, 'My invoice is wrong');
    await console.waitForSelector('#transcript li.user >> text=My invoice is wrong', {
      timeout: 20_000,
    });

    // Transfer to the billing queue: the conversation waits again, and Ana takes it back from there.
    await console.selectOption('#transfer', 'queue:billing');
    await takeOver(page, /billing/);

    await close(page);
    llm.behave({ mode: 'ok', text: 'We are open Monday to Friday, 9:00 to 17:00.' });
    await ask(page, 'When are you open?');
    await page.waitForSelector('.parley-assistant >> text=Monday to Friday', { timeout: 20_000 });
    await context.close();
  }, 90_000);

  it('sends a reply whose answer was lost again under the same id: the visitor sees it once', async () => {
    llm.behave({ mode: 'ok', text: 'yes' });
    const { page, context } = await visitor();
    await ask(page, 'I need a human for my order');
    await page.waitForSelector('.parley-handoff >> text=Waiting for a member of our team', {
      timeout: 20_000,
    });
    await takeOver(page, /user request/);
    // The first send reaches hitl, but its answer is lost on the way back (a dropped connection).
    let dropped = 0;
    await console.route('**/v1/agent/conversations/*/messages', async (route) => {
      if (dropped++ > 0) return route.continue();
      await route.fetch();
      await route.abort('connectionreset');
    });
    const text = 'Your order ships tomorrow.';
    await console.fill('#text', text);
    await console.press('#text', 'Enter');
    await expectEventually(
      async () => expect(await console.locator('#error').textContent()).not.toBe(''),
      { timeoutMs: 10_000 },
    );
    expect(await console.inputValue('#text')).toBe(text);
    await console.press('#text', 'Enter'); // the agent tries again
    await expectEventually(async () => expect(await console.inputValue('#text')).toBe(''), {
      timeoutMs: 10_000,
    });
    await page.waitForSelector(`.parley-agent >> text=${text}`, { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 1_500)); // a second copy would have arrived by now
    expect(await page.locator(`.parley-agent >> text=${text}`).count()).toBe(1);
    expect(dropped).toBe(2);
    await console.unroute('**/v1/agent/conversations/*/messages');
    await close(page);
    await context.close();
  }, 90_000);

  it('brings each escalation trigger to the console with its reason: tenant rule, emergency, low confidence, bot failure, degradation (with a callback at L5)', async () => {
    llm.behave({ mode: 'ok', text: 'From the model.' });
    const triggers: Array<[string, RegExp, () => void]> = [
      ['I would like to cancel my contract', /tenant rule/, () => undefined],
      ['EMERGENCY: our website is down!!!', /emergency/, () => undefined],
      [
        'Does the Pro plan include single sign-on?',
        /low confidence/,
        () => llm.behave({ mode: 'ok', text: "I'm not sure whether the Pro plan includes that." }),
      ],
      [
        'Why does the export button stay grey?',
        /bot unavailable|degraded/,
        () => llm.behave({ mode: 'status', status: 500 }),
      ],
      [
        'Can you check the status of my order 1234?',
        /degraded/,
        () => {
          llm.behave({ mode: 'ok', text: 'From the model.' });
          dependencies.knowledge = false;
          dependencies.backend = false;
        },
      ],
    ];
    for (const [text, reason, arrange] of triggers) {
      arrange();
      const outage = !dependencies.backend;
      // Models cooling down after the failures, knowledge and backend down: a full outage (L5).
      if (outage) await expect.poll(aiLevel, { timeout: 20_000 }).toBe('L5');
      const { page, context } = await visitor();
      await ask(page, text);
      if (outage) {
        // At L5 the widget offers a callback even though an agent is online; the ticket reaches the console.
        await page.waitForSelector('.parley-callback:not([hidden])', { timeout: 20_000 });
        await page.fill('.parley-callback-contact', '+1 555 0142');
        await page.click('.parley-callback button');
        await page.waitForSelector('.parley-callback[hidden]', { state: 'attached' });
        // Stored as digits (the gateway normalises the number).
        await console.waitForSelector('#callbacks li >> text=+15550142', { timeout: 20_000 });
      }
      await takeOver(page, reason);
      await close(page);
      await context.close();
    }
    dependencies.knowledge = true;
    dependencies.backend = true;
  }, 120_000);
});
