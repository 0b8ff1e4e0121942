import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_WIDGET_KEY, startPlatform, type Running } from './platform.js';

/** The public HTTP edge as a browser or a client written from docs/protocol.md meets it. */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(() => platform?.close());

const sessions = (init: RequestInit) => fetch(`${platform.baseUrl}/v1/widget/sessions`, init);

describe('CORS on the session endpoint', () => {
  it("answers a preflight from a tenant's allowed origin, naming only that origin", async () => {
    const res = await sessions({
      method: 'OPTIONS',
      headers: {
        origin: platform.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(platform.origin);
  });

  it('names no other origin, on preflights or on refusals', async () => {
    for (const origin of ['https://evil.example', 'null', `${platform.origin}.evil.example`]) {
      const preflight = await sessions({
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
      const refused = await sessions({
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: JSON.stringify({ widgetKey: DEMO_WIDGET_KEY }),
      });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('GW_ERR_ORIGIN_FORBIDDEN');
      expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});

describe('error codes of the public edge', () => {
  const post = (body: string, type = 'application/json') =>
    sessions({
      method: 'POST',
      headers: { origin: platform.origin, 'content-type': type },
      body,
    });
  const codeOf = async (res: Response) => [
    res.status,
    ((await res.json()) as { code: string }).code,
  ];

  it('answers only codes docs/protocol.md lists', async () => {
    expect(await codeOf(await post('{not json'))).toEqual([400, 'GW_ERR_BAD_REQUEST']);
    expect(await codeOf(await post(''))).toEqual([400, 'GW_ERR_BAD_REQUEST']);
    expect(await codeOf(await post('x', 'text/x-unknown'))).toEqual([415, 'GW_ERR_BAD_REQUEST']);
    const huge = JSON.stringify({ widgetKey: DEMO_WIDGET_KEY, pad: 'x'.repeat(1_200_000) });
    expect(await codeOf(await post(huge))).toEqual([413, 'GW_ERR_PAYLOAD_TOO_LARGE']);
    expect(await codeOf(await fetch(`${platform.baseUrl}/v1/nowhere`))).toEqual([
      404,
      'GW_ERR_NOT_FOUND',
    ]);
  });
});
