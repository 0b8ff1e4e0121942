import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
  makeTestCa,
  twilioIncoming as incoming,
  type TestCa,
} from '@parley/testing';
import { voiceFields } from '../src/config.js';
import { voiceModule } from '../src/module.js';

/**
 * The voice module as the service mounts it, on the embedded ports: a
 * tenant's number attached through the operators' API, a call to it
 * answered with a media stream and greeted, an unsigned webhook refused.
 * It keeps its pod's deletion cost at its number of calls, through a local
 * HTTPS server answering as the Kubernetes API server does.
 */
const TENANT = 'voice-module';
const NUMBER = '+15550142';
const ADMIN = 'operator-token-0123456789abcdef';
let app: FastifyInstance;
let baseUrl: string;
let ca: TestCa;
let apiServer: Server;
const costs: string[] = [];

beforeAll(async () => {
  ca = await makeTestCa();
  await writeFile(join(ca.dir, 'token'), 'sa-token');
  await writeFile(join(ca.dir, 'ca.crt'), ca.ca);
  apiServer = createServer(
    { key: await readFile(ca.keyFile), cert: await readFile(ca.certFile) },
    (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (
          req.method === 'PATCH' &&
          req.url === '/api/v1/namespaces/parley/pods/parley-voice-7f9c-x2' &&
          req.headers.authorization === 'Bearer sa-token'
        )
          costs.push(
            (JSON.parse(body) as { metadata: { annotations: Record<string, string> } }).metadata
              .annotations['controller.kubernetes.io/pod-deletion-cost']!,
          );
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"kind":"Pod"}');
      });
    },
  );
  apiServer.listen(0, '127.0.0.1');
  await once(apiServer, 'listening');
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
      VOICE_POD_DELETION_COST: 'true',
      POD_NAME: 'parley-voice-7f9c-x2',
      POD_NAMESPACE: 'parley',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String((apiServer.address() as AddressInfo).port),
    },
  );
  await app.register(voiceModule, {
    settings: { ...settings, shutdownDeadlineMs: 5_000 },
    serviceAccountDir: ca.dir,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  apiServer?.close();
  await ca?.destroy();
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
    // The pod's deletion cost follows its calls: a scale-down takes the idle pods first.
    await expectEventually(() => expect(costs.at(-1)).toBe('1'), { timeoutMs: 5_000 });
    call.send({ event: 'stop', streamSid: call.streamSid });
    await expectEventually(() => expect(app.voice.calls).toBe(0));
    expect(await app.metrics.metrics()).toMatch(/^concurrent_calls\{[^}]*\} 0$/m);
    await expectEventually(() => expect(costs.at(-1)).toBe('0'), { timeoutMs: 5_000 });
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
