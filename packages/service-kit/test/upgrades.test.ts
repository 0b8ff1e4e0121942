import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import { resetUpgrade, upgradeAnswer } from '@parley/testing';
import { build } from './build.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function listening(setup: (app: FastifyInstance) => void = () => undefined) {
  ({ app } = build());
  setup(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('WebSocket upgrades', () => {
  it('answers an upgrade to a path nobody owns with a coded 404 at once', async () => {
    const base = await listening();
    const answer = await upgradeAnswer(base, '/v1/voice/twilio/stream?x=1');
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('"code":"SVC_ERR_NOT_FOUND"');
    expect(answer.text).toContain('Connection: close');
  });

  it("answers with the service's own not-found code when it sets one", async () => {
    const base = await listening((a) => (a.errorPrefix = 'GW'));
    expect((await upgradeAnswer(base, '/nope')).text).toContain('"code":"GW_ERR_NOT_FOUND"');
  });

  it('hands an upgrade to the handler routed for its path, whatever the query', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const base = await listening((a) =>
      a.upgrades.route('/echo', (req, socket, head) =>
        wss.handleUpgrade(req, socket, head, (ws) => ws.close()),
      ),
    );
    expect((await upgradeAnswer(base, '/echo?token=x')).status).toBe(101);
    expect((await upgradeAnswer(base, '/echo/more')).status).toBe(404);
    wss.close();
  });

  it('refuses a second handler for the same path', async () => {
    ({ app } = build());
    app.upgrades.route('/a', () => undefined);
    expect(() => app!.upgrades.route('/a', () => undefined)).toThrow(/already set/);
  });

  it('answers 500 when a handler throws, and goes on serving', async () => {
    const base = await listening((a) =>
      a.upgrades.route('/broken', () => {
        throw new Error('boom');
      }),
    );
    const answer = await upgradeAnswer(base, '/broken');
    expect(answer.status).toBe(500);
    expect(answer.text).toContain('"code":"SVC_ERR_INTERNAL"');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('survives clients that reset their socket mid-upgrade, on every path', async () => {
    // A handler that holds the socket, as an async check (a token, a rate limit) does.
    const held: Array<() => void> = [];
    const base = await listening((a) =>
      a.upgrades.route('/slow', (_req, socket) => {
        held.push(() => socket.destroy());
      }),
    );
    for (const path of ['/slow', '/nope', '/v1/voice/twilio/stream'])
      for (const afterMs of [0, 50, 300]) await resetUpgrade(base, path, afterMs);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // An unhandled socket error would have failed this test as an uncaught exception.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await upgradeAnswer(base, '/nope')).status).toBe(404);
    expect(held.length).toBe(3);
    held.forEach((release) => release());
  });
});
