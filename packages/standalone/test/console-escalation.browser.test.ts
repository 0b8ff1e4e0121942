import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from '@parley/testing';
import { DEMO_AGENT } from '../src/index.js';
import { startPlatform, type Running } from './start.js';

/** The console in headless Chromium, with a one-second SLA so that a handoff outlives it. */
let platform: Running;
let browser: Browser;
beforeAll(async () => {
  platform = await startPlatform({ HITL_SLA_MS: '1000', HITL_SWEEP_INTERVAL_MS: '200' });
  browser = await chromium.launch(CHROMIUM);
});
afterAll(async () => {
  await browser?.close();
  await platform?.close();
});

describe('a handoff waiting past its SLA in the console', () => {
  it('is marked escalated, visibly, in the queue of a console already open', async () => {
    const console = await browser.newPage();
    await console.goto(`${platform.baseUrl}/console/`);
    await console.fill('input[name=email]', DEMO_AGENT.email);
    await console.fill('input[name=password]', DEMO_AGENT.defaultPassword);
    await console.press('input[name=password]', 'Enter');
    await console.waitForSelector('#live >> text=live');

    const visitor = await browser.newPage();
    await visitor.goto(platform.baseUrl);
    await visitor.waitForSelector('.parley-root[data-connection=online]');
    await visitor.fill('.parley-input', 'I want to talk to a human');
    await visitor.press('.parley-input', 'Enter');
    await visitor.waitForSelector('.parley-handoff >> text=Waiting for a member of our team');
    // First it waits unmarked; a second later the sweep escalates it and the queue updates live.
    await console.locator('#queue li').first().waitFor({ state: 'visible', timeout: 10_000 });
    const badge = console.locator('#queue li.is-escalated .escalated');
    await badge.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await badge.isVisible()).toBe(true);
    expect(await badge.textContent()).toMatch(/^Escalated: waiting past the SLA since /);
    // Seen, not merely present: the badge takes room on the screen.
    const box = await badge.boundingBox();
    expect(box!.width).toBeGreaterThan(50);
    expect(box!.height).toBeGreaterThan(8);
  });
});
