import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import {
  EventRegistry,
  conversationChannel,
  messageReceivedV1,
  type Event,
  type MessageReceivedV1,
} from '@parley/contracts';
import { testPlatform } from '@parley/test-platform';
import { WidgetClient, expectEventually } from '@parley/testing';
import { gatewayFields } from '../src/config.js';
import { gatewayModule } from '../src/module.js';

/**
 * The gateway module as the service mounts it, on the embedded ports: the
 * session route, the widget's socket onto the bus, live updates back to the
 * socket, the documented refusals.
 */
const TENANT = 'gateway-module';
const ORIGIN = 'http://shop.test';
const KEY = 'pk_gateway_module';
let app: FastifyInstance;
let baseUrl: string;
let stopListening: (() => Promise<void>) | undefined;
const received: Array<Event<MessageReceivedV1>> = [];
const clients: WidgetClient[] = [];

beforeAll(async () => {
  ({ app, baseUrl } = await testPlatform({
    service: 'gateway',
    env: { PARLEY_SESSION_SECRET: 'gateway-module-secret-0123456789abcdef' },
    modules: [[gatewayModule, ({ env }) => ({ settings: loadConfig(gatewayFields, env) })]],
    tenants: [{ id: TENANT, name: TENANT, widgetKey: KEY, allowedOrigins: [ORIGIN] }],
  }));
  const listener = app.ports.bus.subscribe({
    groupId: 'test',
    registry: new EventRegistry([messageReceivedV1]),
    fromBeginning: true,
    handler: async (event) => void received.push(event as Event<MessageReceivedV1>),
  });
  stopListening = () => listener.stop();
  await listener.start();
});
afterAll(async () => {
  for (const client of clients) client.close();
  await stopListening?.();
  await app?.close();
});

async function connect(): Promise<WidgetClient> {
  const client = await WidgetClient.connect(baseUrl, { widgetKey: KEY, origin: ORIGIN });
  clients.push(client);
  client.send({ type: 'resume', afterSeq: 0 });
  await client.waitFor((f) => f.type === 'state');
  return client;
}

describe('the gateway module on the embedded ports', () => {
  it('puts a widget’s message on the bus, keyed by its conversation', async () => {
    const client = await connect();
    client.send({ type: 'message', clientMessageId: 'm1', text: 'שלום 👋' });
    await expectEventually(() =>
      expect(received.find((e) => e.payload.client_message_id === 'm1')).toMatchObject({
        tenant_id: TENANT,
        conversation_id: client.session.conversationId,
        payload: { text: 'שלום 👋', channel: 'web' },
      }),
    );
  });

  it('sends what is published on the conversation’s channel to its socket', async () => {
    const client = await connect();
    await app.ports.cache.publish(
      conversationChannel(TENANT, client.session.conversationId),
      JSON.stringify({ kind: 'typing', role: 'assistant', active: true }),
    );
    expect(await client.waitFor((f) => f.type === 'typing')).toMatchObject({
      role: 'assistant',
      active: true,
    });
    expect(app.gateway.sockets).toBeGreaterThanOrEqual(1);
  });

  it('refuses a session from an origin the tenant does not allow, with a documented code', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/widget/sessions',
      headers: { origin: 'http://evil.test', 'content-type': 'application/json' },
      payload: { widgetKey: KEY },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toMatch(/^GW_ERR_/);
  });

  it('limits status polling per IP in a bucket of its own, counted as a refusal, that never blocks a session', async () => {
    let polled = 0;
    let res = await app.inject({ url: '/status.json' });
    // The bucket holds RATE_LIMIT_IP_BURST requests (30 by default) and refills slowly.
    while (res.statusCode === 200 && ++polled < 200)
      res = await app.inject({ url: '/status.json' });
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ code: 'GW_ERR_RATE_LIMITED' });
    expect(await app.metrics.getSingleMetricAsString('gateway_refused_total')).toMatch(
      /gateway_refused_total\{[^}]*code="GW_ERR_RATE_LIMITED"[^}]*\} [1-9]/,
    );
    const session = await app.inject({
      method: 'POST',
      url: '/v1/widget/sessions',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      payload: { widgetKey: KEY },
    });
    expect(session.statusCode).toBe(201);
  });

  it('answers an unknown path with the gateway’s own code', async () => {
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('GW_ERR_NOT_FOUND');
  });
});
