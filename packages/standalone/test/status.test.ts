import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@parley/testing';
import { startPlatform, type Running } from './start.js';

/** The status page in the one-process platform: its health is every component's row. */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform({ PARLEY_ADMIN_TOKEN: 'operator-token-0123456789abcdef' });
});
afterAll(async () => {
  await platform?.close();
});

describe('the status page in the embedded mode', () => {
  it('shows every component operational and the level, at /status and /status.json', async () => {
    const doc = await eventually(
      async () => {
        const res = await fetch(`${platform.baseUrl}/status.json`);
        const body = (await res.json()) as {
          components: Array<{ id: string; state: string }>;
          level: { level: string } | null;
        };
        return body.level && body.components.every((c) => c.state === 'operational')
          ? body
          : undefined;
      },
      { timeoutMs: 15_000, what: 'every component operational' },
    );
    expect(doc.components.map((c) => c.id)).toEqual([
      'gateway',
      'chat',
      'ai',
      'hitl',
      'embedding',
      'voice',
    ]);
    expect(doc.level?.level).toBe('L0');
    const page = await fetch(`${platform.baseUrl}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('All systems operational');
    expect((await fetch(`${platform.baseUrl}/status.js`)).status).toBe(200);
  });
});
