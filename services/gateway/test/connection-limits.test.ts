import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { createSession, openSocket } from '@parley/testing';
import { DEMO_WIDGET_KEY, startPlatform, type Running } from './platform.js';

/** The gateway behind one trusted proxy (an ingress), which appends the client's address. */
const via = (client: string, written?: string) => ({
  'x-forwarded-for': written ? `${written}, ${client}` : client,
});

describe('the per-address rate limit behind a trusted proxy', () => {
  let platform: Running;
  beforeAll(async () => {
    platform = await startPlatform({
      TRUST_PROXY: 'true',
      RATE_LIMIT_IP_BURST: '3',
      RATE_LIMIT_IP_PER_SECOND: '1',
    });
  });
  afterAll(() => platform?.close());

  it('counts the address the proxy saw, however the client fills X-Forwarded-For', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await createSession(
        platform.baseUrl,
        { widgetKey: DEMO_WIDGET_KEY },
        platform.origin,
        via('203.0.113.7', `198.51.100.${i}`),
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
    // Another client behind the same proxy has its own bucket.
    const other = await createSession(
      platform.baseUrl,
      { widgetKey: DEMO_WIDGET_KEY },
      platform.origin,
      via('203.0.113.8'),
    );
    expect(other.status).toBe(201);
  });
});

describe('the caps on open sockets', () => {
  let platform: Running;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    platform = await startPlatform({
      TRUST_PROXY: 'true',
      WS_MAX_CONNECTIONS_PER_IP: '2',
      WS_MAX_CONNECTIONS: '3',
    });
  });
  afterAll(async () => {
    for (const ws of open) ws.close();
    await platform?.close();
  });

  /** A new visitor's socket from `client`. */
  async function socketFrom(client: string): Promise<WebSocket> {
    const headers = via(client);
    const session = await createSession(
      platform.baseUrl,
      { widgetKey: DEMO_WIDGET_KEY },
      platform.origin,
      headers,
    );
    const ws = await openSocket(
      platform.baseUrl,
      '/v1/widget/ws',
      session.body.sessionToken,
      platform.origin,
      { headers },
    );
    open.push(ws);
    return ws;
  }

  it('refuses a client address its third socket, and the pod its fourth, until one closes', async () => {
    await socketFrom('203.0.113.20');
    const second = await socketFrom('203.0.113.20');
    await expect(socketFrom('203.0.113.20')).rejects.toThrow(
      /refused 429 .*GW_ERR_TOO_MANY_CONNECTIONS.*per address/,
    );
    await socketFrom('203.0.113.21');
    await expect(socketFrom('203.0.113.22')).rejects.toThrow(
      /refused 503 .*GW_ERR_UNAVAILABLE.*at capacity/,
    );
    second.close();
    await new Promise((resolve) => second.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await socketFrom('203.0.113.22');
  });
});
