import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startPlatform, type Running } from './start.js';

/** Debian's chromium, with the flags the project standardises on. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let platform: Running;
let browser: Browser;
beforeAll(async () => {
  platform = await startPlatform();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
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
