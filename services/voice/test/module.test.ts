import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFields, loadConfig } from '@parley/config';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import {
  FakeTwilioCall,
  TEST_AUTH_TOKEN,
  TEST_PUBLIC_URL,
  expectEventually,
  twilioIncoming as incoming,
} from '@parley/testing';
import { voiceFields } from '../src/config.js';
import { voiceModule } from '../src/module.js';

/**
 * The voice module as the service mounts it, on the embedded ports: a
 * tenant's number attached through the operators' API, a call to it
 * answered with a media stream and greeted, an unsigned webhook refused.
 */
const TENANT = 'voice-module';
const NUMBER = '+15550142';
const ADMIN = 'operator-token-0123456789abcdef';
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  app = createApp({
    service: 'voice',
    logger: createLogger({ service: 'voice', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'voice', processMetrics: false }),
  });
  // As in the embedded mode, where the gateway names the root's catalogue.
  app.errorPrefix = 'GW';
  await app.register(embeddedPorts, {});
  await migrate(app.ports.db);
  await new ConversationStore(app.ports.db).upsertTenant({
    id: TENANT,
    name: TENANT,
    widgetKey: 'pk_voice_module',
    allowedOrigins: [],
  });
  const settings = loadConfig(
    { ...voiceFields, ...adminFields },
    {
      PARLEY_ADMIN_TOKEN: ADMIN,
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
      // Recognition is configured but never reached: nobody speaks on these calls.
      VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
    },
  );
  await app.register(voiceModule, { settings: { ...settings, shutdownDeadlineMs: 5_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
});

describe('the voice module on the embedded ports', () => {
  it('answers a call to a number attached through the operators’ API, and greets the caller', async () => {
    const attach = await app.inject({
      method: 'PUT',
      url: `/admin/tenants/${TENANT}/phone-numbers/${encodeURIComponent(NUMBER)}`,
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(attach.statusCode).toBe(201);
    const call = await FakeTwilioCall.place(baseUrl, { to: NUMBER, from: '+15550199' });
    await expectEventually(() => expect(app.voice.active()).toHaveLength(1));
    expect(app.voice.active()[0]).toMatchObject({ callSid: call.callSid, tenantId: TENANT });
    // The greeting, synthesized offline, arrives as media frames.
    await expectEventually(
      () => expect(call.received.filter((m) => m.event === 'media').length).toBeGreaterThan(10),
      { timeoutMs: 20_000 },
    );
    call.send({ event: 'stop', streamSid: call.streamSid });
    await expectEventually(() => expect(app.voice.calls).toBe(0));
    expect(await app.metrics.metrics()).toMatch(/^concurrent_calls\{[^}]*\} 0$/m);
  });

  it('refuses a webhook without Twilio’s signature', async () => {
    const answer = await incoming(baseUrl, { CallSid: 'CA1', To: NUMBER }, 'forged');
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 'VOICE_ERR_BAD_SIGNATURE' });
  });

  it('answers a malformed body to its routes as VOICE_ERR_BAD_REQUEST, though the root’s prefix is GW', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: `/admin/tenants/${TENANT}/phone-numbers/${encodeURIComponent(NUMBER)}`,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect([res.statusCode, res.json().code]).toEqual([400, 'VOICE_ERR_BAD_REQUEST']);
    const missing = await app.inject({ method: 'GET', url: '/v1/voice/nowhere' });
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'GW_ERR_NOT_FOUND']);
  });

  it('refuses the numbers API without the operators’ token, with its code', async () => {
    const res = await app.inject({ method: 'GET', url: `/admin/tenants/${TENANT}/phone-numbers` });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toMatch(/^VOICE_ERR_/);
  });
});
