import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  CHROMIUM,
  axeViolations,
  expectEventually,
  startFakeLlm,
  type FakeLlm,
} from '@parley/testing';
import { DEMO_AGENT } from '../src/index.js';
import { startPlatform, type Running } from './start.js';

const ADMIN_TOKEN = 'operator-token-0123456789abcdef';
let platform: Running;
let browser: Browser;
beforeAll(async () => {
  platform = await startPlatform({ PARLEY_ADMIN_TOKEN: ADMIN_TOKEN });
  browser = await chromium.launch(CHROMIUM);
});
afterAll(async () => {
  await browser?.close();
  await platform?.close();
});

async function ask(page: Page, text: string): Promise<void> {
  await page.fill('.parley-input', text);
  await page.press('.parley-input', 'Enter');
}

/** Every stored message the widget shows, as [seq, role, text], checking there are no doubles. */
async function shown(page: Page): Promise<Array<[number, string, string]>> {
  return page.$$eval('.parley-msg', (els) =>
    els.map((el) => [
      Number(el.getAttribute('data-seq') ?? -1),
      el.className.replace(/.*parley-(user|assistant|agent|system).*/, '$1'),
      el.textContent ?? '',
    ]),
  );
}

describe('the chat widget in headless Chromium', () => {
  it('opens the demo page, sends a question and shows the answer', async () => {
    const page = await browser.newPage();
    await page.goto(platform.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'What are your opening hours?');
    await page.waitForSelector('.parley-assistant >> text=Monday to Friday');
    expect(await shown(page)).toEqual([
      [1, 'user', 'What are your opening hours?'],
      [2, 'assistant', expect.stringContaining('Monday to Friday')],
    ]);
    await page.close();
  });

  it('is usable from the keyboard and by a screen reader, and axe-core finds no serious violation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(platform.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    // From the top of the page, Tab reaches the message box; Enter sends.
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'Message'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>(
        "document.activeElement?.getAttribute('aria-label') ?? ''",
      );
    }
    expect(focused).toBe('Message');
    await page.keyboard.type('What are your opening hours?');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.parley-assistant >> text=Monday to Friday');
    // New messages land in a polite live region, inside a labelled landmark.
    expect(await page.getAttribute('.parley-log', 'aria-live')).toBe('polite');
    expect(await page.getAttribute('.parley-root', 'role')).toBe('region');
    expect(await page.getAttribute('.parley-root', 'aria-label')).toBe('Chat');
    expect(await axeViolations(page, ['critical', 'serious', 'moderate'])).toEqual([]);
    await page.close();
  });

  it('reconnects after the socket is cut, sends what was typed meanwhile, and shows nothing twice', async () => {
    const page = await browser.newPage();
    await page.goto(platform.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'hello');
    await page.waitForSelector('.parley-assistant[data-seq="2"]');

    platform.app.platform.gateway.terminateAll();
    await page.waitForSelector('.parley-root:not([data-connection=online])');
    await ask(page, 'How do I get a refund?');
    await page.waitForSelector('.parley-root[data-connection=online]');
    await page.waitForSelector('.parley-assistant[data-seq="4"]');

    platform.app.platform.gateway.terminateAll();
    await page.waitForSelector('.parley-root[data-connection=online]', { timeout: 20_000 });
    await ask(page, 'thanks');
    await page.waitForSelector('.parley-assistant[data-seq="6"]');

    const messages = await shown(page);
    expect(messages.map(([seq]) => seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(messages.filter(([, role]) => role === 'user').map(([, , text]) => text)).toEqual([
      'hello',
      'How do I get a refund?',
      'thanks',
    ]);
    expect(await page.$$('.parley-pending')).toHaveLength(0);

    await page.reload();
    await page.waitForSelector('.parley-assistant[data-seq="6"]');
    expect(await shown(page)).toEqual(messages);
    await page.close();
  });

  it('shows when the browser goes offline and reconnects when the network returns', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(platform.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await context.setOffline(true);
    await page.waitForSelector('.parley-status[data-state=offline]');
    await context.setOffline(false);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'pricing');
    await page.waitForSelector('.parley-assistant >> text=free tier');
    await context.close();
  });
});

describe('the chat widget streaming a model answer', () => {
  let llm: FakeLlm;
  let streaming: Running;
  beforeAll(async () => {
    llm = await startFakeLlm();
    streaming = await startPlatform({
      OPENAI_API_KEY: 'sk-test-streaming',
      OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
    });
  });
  afterAll(async () => {
    await streaming?.close();
    await llm?.close();
  });

  it('shows the answer growing as it is written, then the stored answer in its place', async () => {
    const answer = 'Streaming works: this sentence arrives in eight small pieces.';
    llm.behave({ mode: 'ok', text: answer, chunks: 8, chunkDelayMs: 150 });
    const page = await browser.newPage();
    await page.goto(streaming.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'Tell me about streaming');
    // A draft bubble with part of the answer, before the whole answer is there.
    const partial = await page.waitForFunction(
      (full) => {
        type Doc = { querySelector(s: string): { textContent: string | null } | null };
        const draft = (globalThis as unknown as { document: Doc }).document.querySelector(
          '.parley-draft',
        );
        const text = draft?.textContent ?? '';
        return text.length > 0 && text.length < full.length ? text : null;
      },
      answer,
      { timeout: 10_000 },
    );
    expect(answer.startsWith((await partial.jsonValue()) as string)).toBe(true);
    await page.waitForSelector(`.parley-assistant[data-seq="2"]`);
    expect(await page.$$('.parley-draft')).toHaveLength(0);
    expect(await shown(page)).toEqual([
      [1, 'user', 'Tell me about streaming'],
      [2, 'assistant', answer],
    ]);
    await page.close();
  });

  it('drops a draft that broke off and shows the complete backup answer instead', async () => {
    llm.behave({
      mode: 'drop',
      text: 'We open at nine and close at',
      chunks: 6,
      dropAfterChunks: 3,
    });
    const page = await browser.newPage();
    const frames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
    await page.goto(streaming.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'What are your opening hours?');
    await page.waitForSelector('.parley-assistant[data-seq="2"]');
    const kinds = frames.map((f) => (JSON.parse(f) as { type: string }).type);
    expect(kinds).toContain('delta');
    expect(kinds.indexOf('incomplete')).toBeGreaterThan(kinds.indexOf('delta'));
    expect(kinds).not.toContain('error');
    expect(await page.$$('.parley-draft')).toHaveLength(0);
    const messages = await shown(page);
    expect(messages).toHaveLength(2);
    expect(messages[1]![2]).toMatch(/Monday to Friday/);
    await page.close();
  });
});

describe('answers with sources in the widget', () => {
  it('shows the documents under an answer, as text, linking only to web addresses', async () => {
    const upload = (body: Record<string, unknown>) =>
      fetch(`${platform.baseUrl}/v1/knowledge/demo/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ format: 'markdown', ...body }),
      });
    const hostile = '<img src=x onerror="window.__xss=3">Descaling guide';
    expect(
      (
        await upload({
          id: 'descaling',
          title: hostile,
          source: 'javascript:alert(1)',
          content:
            '# Descaling\n\nDescale the espresso machine every 200 cups with the descaling tablets.',
        })
      ).status,
    ).toBe(202);
    await expectEventually(async () =>
      expect(
        (await platform.app.platform.knowledge.store.document('demo', 'descaling'))?.status,
      ).toBe('ready'),
    );
    const page = await browser.newPage();
    await page.goto(platform.baseUrl);
    await page.waitForSelector('.parley-root[data-connection=online]');
    await ask(page, 'How often do I descale the espresso machine?');
    const sources = await page.waitForSelector('.parley-assistant .parley-sources');
    expect(await sources.textContent()).toBe(`Sources: ${hostile}`);
    // The title is text, and a javascript: address is no link.
    expect(await page.$$('.parley-sources img, .parley-sources a')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();
  });
});

describe('an agent taking over in the console while the visitor watches the widget', () => {
  it('brings the handoff to the console, shows hostile text as text, and carries messages both ways until close', async () => {
    const visitor = await browser.newPage();
    await visitor.goto(platform.baseUrl);
    await visitor.waitForSelector('.parley-root[data-connection=online]');
    const console = await browser.newPage();
    await console.goto(`${platform.baseUrl}/console/`);
    await console.fill('input[name=email]', DEMO_AGENT.email);
    await console.fill('input[name=password]', DEMO_AGENT.defaultPassword);
    await console.press('input[name=password]', 'Enter');
    await console.waitForSelector('#live >> text=live');

    const hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    await ask(visitor, hostile);
    await ask(visitor, 'I want to talk to a human');
    await visitor.waitForSelector('.parley-handoff >> text=Waiting for a member of our team');
    // The queue updates live in the console; the agent opens the conversation from the keyboard.
    const waiting = await console.waitForSelector('#queue li', { timeout: 10_000 });
    expect(await waiting.textContent()).toMatch(/user request/);
    await waiting.focus();
    await console.keyboard.press('Enter');
    await console.waitForSelector('#transcript li.user');
    // The signed-in console with a conversation open: nothing axe-core calls critical or serious.
    expect(await axeViolations(console)).toEqual([]);
    expect(
      await console.$$eval('#transcript li.user', (els) => els.map((e) => e.textContent)),
    ).toContain(hostile);
    expect(await console.$$('#transcript img, #transcript script')).toHaveLength(0);
    expect(await console.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await console.click('#accept');
    await visitor.waitForSelector('.parley-system >> text=Dana joined the conversation.');
    await visitor.waitForSelector(
      '.parley-handoff >> text=You are chatting with a member of our team.',
    );

    // Agent → visitor, using a canned response, sent with Enter.
    await console.selectOption('#canned', { index: 4 });
    await console.press('#text', 'Enter');
    await visitor.waitForSelector(
      '.parley-agent >> text=Is there anything else I can help you with?',
    );
    // Visitor → agent, live in the console; the bot stays quiet.
    await ask(visitor, 'Yes, my invoice is wrong');
    await console.waitForSelector('#transcript li.user >> text=Yes, my invoice is wrong');
    await console.waitForTimeout(300);
    const assistantsBefore = (await shown(visitor)).filter(
      ([, role]) => role === 'assistant',
    ).length;

    // Close (Ctrl+Enter): the assistant answers again.
    await console.focus('#text');
    await console.keyboard.press('Control+Enter');
    await visitor.waitForSelector('.parley-system >> text=The agent has left the conversation.');
    await ask(visitor, 'What are your opening hours?');
    await visitor.waitForFunction(
      (before) =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll('.parley-assistant').length > before,
      assistantsBefore,
    );
    const messages = await shown(visitor);
    expect(messages.at(-1)![2]).toMatch(/Monday to Friday/);
    expect(new Set(messages.map(([seq]) => seq)).size).toBe(messages.length);
    await visitor.close();
    await console.close();
  });
});
