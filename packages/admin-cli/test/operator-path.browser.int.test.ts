import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, serviceEntry, startServiceProcess, type ServiceProcess } from '@parley/testing';

/**
 * The operator's first day, from a clean state: the one-process platform
 * (the README's first command), `parley-admin tenant create` with the
 * shop's origin, the printed script tag pasted into the shop's page, and a
 * visitor chatting in Chromium, seeing the answer.
 */
const TOKEN = 'operator-path-admin-token-0123456789abcdef';
const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const exec = promisify(execFile);
let platform: ServiceProcess;
let shop: Server;
let shopOrigin: string;
let tag = '';
let browser: Browser;

beforeAll(async () => {
  // The shop's own site, on another origin, serving whatever tag the operator pasted.
  shop = createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><html lang="en"><body><h1>Shop</h1>\n${tag}\n</body></html>`),
  );
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopOrigin = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  platform = await startServiceProcess(serviceEntry('@parley/standalone', import.meta.url), {
    env: {
      PARLEY_DATA_DIR: ':memory:',
      PARLEY_ADMIN_TOKEN: TOKEN,
      PARLEY_DEMO_KNOWLEDGE: 'false',
    },
    startTimeoutMs: 60_000,
  });
  browser = await chromium.launch(CHROMIUM);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await platform?.stop('SIGTERM');
  await new Promise((resolve) => shop?.close(resolve));
});

describe('an operator onboards a tenant with parley-admin', () => {
  it('creates the tenant, pastes the printed tag into its page, and a visitor chats from Chromium', async () => {
    const { stdout, stderr } = await exec(
      process.execPath,
      [cli, 'tenant', 'create', 'shop', '--origin', shopOrigin, '--url', platform.baseUrl],
      { env: { ...process.env, PARLEY_ADMIN_TOKEN: TOKEN }, timeout: 30_000 },
    );
    expect(stderr).toContain('shop');
    tag = stdout.trim();
    expect(tag).toMatch(
      new RegExp(
        `^<script src="${platform.baseUrl}/widget\\.js" data-widget-key="pk_[A-Za-z0-9_-]+" async></script>$`,
      ),
    );

    const page = await browser.newPage();
    await page.goto(`${shopOrigin}/`);
    await page.waitForSelector('.parley-root[data-connection=online]', { timeout: 20_000 });
    await page.fill('.parley-input', 'What are your opening hours?');
    await page.press('.parley-input', 'Enter');
    // What the visitor sees: the question, then an answer from the assistant.
    const answer = page.locator('.parley-msg.parley-assistant').first();
    await answer.waitFor({ state: 'visible', timeout: 20_000 });
    expect((await answer.innerText()).trim().length).toBeGreaterThan(0);
    expect(await page.locator('.parley-msg.parley-user').first().isVisible()).toBe(true);
    expect(await page.locator('.parley-msg.parley-user').first().innerText()).toContain(
      'opening hours',
    );
  }, 90_000);
});
