import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Running } from './start.js';

/**
 * The static pages of the one-process platform: the agent console (the hitl
 * module's) beside the widget's script (the gateway's). CORS and the error
 * codes of the public edge are tested beside the gateway
 * (services/gateway/test/public-edge.test.ts).
 */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(() => platform?.close());

describe('the static pages', () => {
  it("serve the agent console with its content security policy, and the widget's script", async () => {
    const console = await fetch(`${platform.baseUrl}/console/`);
    expect(console.status).toBe(200);
    expect(console.headers.get('content-security-policy')).toBe(
      "default-src 'self'; frame-ancestors 'none'",
    );
    expect(console.headers.get('x-content-type-options')).toBe('nosniff');
    // Bodies read to the end: an unread one holds its connection busy, and close() waits for it.
    expect(await console.text()).toContain('<');
    const widget = await fetch(`${platform.baseUrl}/widget.js`);
    expect([widget.status, widget.headers.get('content-type')]).toEqual([
      200,
      expect.stringMatching(/^(text|application)\/javascript/),
    ]);
    expect((await widget.text()).length).toBeGreaterThan(0);
  });
});
