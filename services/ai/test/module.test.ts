import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@parley/config';
import {
  EventRegistry,
  replyGeneratedV1,
  replyRequestedV1,
  type Event,
  type ReplyGeneratedV1,
} from '@parley/contracts';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { expectEventually, startFakeLlm, type FakeLlm } from '@parley/testing';
import { aiFields } from '../src/config.js';
import { aiModule } from '../src/module.js';

/**
 * The AI module as the service mounts it, on the embedded ports: the same
 * plugin gives the one-process platform its answers, admin API, metrics and
 * degradation readiness.
 */
const TOKEN = 'operator-token-0123456789abcdef';
let llm: FakeLlm;
let app: FastifyInstance;
const replies: Array<Event<ReplyGeneratedV1>> = [];
const registry = new EventRegistry([replyRequestedV1, replyGeneratedV1]);

beforeAll(async () => {
  llm = await startFakeLlm();
  llm.behave({ mode: 'ok', text: 'From the model.' });
  app = createApp({
    service: 'ai',
    logger: createLogger({ service: 'ai', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'ai', processMetrics: false }),
  });
  await app.register(embeddedPorts, {});
  const settings = loadConfig(aiFields, {
    PARLEY_ADMIN_TOKEN: TOKEN,
    OPENAI_API_KEY: 'sk-openai-test',
    OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
  });
  await app.register(aiModule, { settings });
  const listener = app.ports.bus.subscribe({
    groupId: 'test',
    registry,
    fromBeginning: true,
    handler: async (event) => {
      if (event.type === replyGeneratedV1.type) replies.push(event as Event<ReplyGeneratedV1>);
    },
  });
  app.addHook('onClose', () => listener.stop());
  await app.ready();
  await listener.start();
});
afterAll(async () => {
  await app?.close();
  await llm?.close();
});

describe('the AI module on the embedded ports', () => {
  it('answers a requested reply through the model on the bus', async () => {
    const conversationId = randomUUID();
    await app.ports.bus.publish(
      registry.create(replyRequestedV1, {
        conversationId,
        tenantId: 't',
        payload: {
          message_seq: 1,
          message_id: randomUUID(),
          text: 'hello',
          history: [],
          channel: 'web',
        },
      }),
    );
    await expectEventually(() =>
      expect(replies.find((r) => r.conversation_id === conversationId)?.payload).toMatchObject({
        reply_to_seq: 1,
        text: 'From the model.',
        provider: 'openai',
      }),
    );
  });

  it('reports its consumer and the degradation level in readiness', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().checks).toMatchObject({
      'consumer:ai': { status: 'up' },
      degradation: { status: 'up', details: { level: 'L0' } },
    });
  });

  it('serves the operators’ admin API behind the token, and refuses without it', async () => {
    const refused = await app.inject({ method: 'GET', url: '/admin/system-status' });
    expect(refused.statusCode).toBe(401);
    const status = await app.inject({
      method: 'GET',
      url: '/admin/system-status',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ degradation: { level: 'L0' } });
  });

  it('answers a malformed body to its admin API as AI_ERR_BAD_REQUEST', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/force-recovery',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: '{"provider":',
    });
    expect([res.statusCode, res.json().code]).toEqual([400, 'AI_ERR_BAD_REQUEST']);
    const unknown = await app.inject({
      method: 'POST',
      url: '/admin/force-recovery',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { provider: 'nobody' },
    });
    expect([unknown.statusCode, unknown.json().code]).toEqual([400, 'AI_ERR_UNKNOWN_PROVIDER']);
  });

  it('exports its metrics on the app’s registry', async () => {
    const metrics = await app.metrics.metrics();
    expect(metrics).toMatch(/^ai_degradation_level\{[^}]*\} 0$/m);
    expect(metrics).toMatch(
      /^ai_reply_duration_seconds_count\{[^}]*provider="openai"[^}]*\} [1-9]/m,
    );
  });
});
