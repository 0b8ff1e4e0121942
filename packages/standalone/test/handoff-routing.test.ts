import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, expectEventually } from '@parley/testing';
import { agentApi, openHandoff, visitorAskingForHuman } from './agents.js';
import { startPlatform, type Running } from './start.js';

/**
 * Where a handoff waits and who gets it: queues split by skill (the tenant's
 * routes) and language (the widget's), VIP customers (a signed identity)
 * first, and the operators' API that manages agents and settings.
 */
const ADMIN = 'operator-token-0123456789abcdef';
const SECRET = 'tenant-identity-secret-0123456789abcdef';
const sign = (id: string) => createHmac('sha256', SECRET).update(id).digest('hex');

let platform: Running;
let api: ReturnType<typeof agentApi>;
const admin = (path: string, method: string, body?: unknown, token = ADMIN) =>
  api.call(path, { method, token, ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  platform = await startPlatform({ PARLEY_ADMIN_TOKEN: ADMIN });
  api = agentApi(platform);
  await platform.app.platform.store.upsertTenant({
    id: 'routing',
    name: 'Routing tenant',
    widgetKey: 'pk_routing',
    allowedOrigins: [platform.origin],
    identitySecret: SECRET,
    aiSettings: { vip_customers: ['cust-vip'] },
  });
});
afterAll(() => platform?.close());

describe('operators manage agents and handoff settings (embedded)', () => {
  it('refuses calls without the operator token and validates every body', async () => {
    expect((await admin('/admin/tenants/routing/agents', 'GET', undefined, 'wrong')).status).toBe(
      401,
    );
    const noTenant = await admin('/admin/tenants/nobody/agents', 'GET');
    expect([noTenant.status, noTenant.body.code]).toEqual([404, 'HITL_ERR_UNKNOWN_TENANT']);
    const weak = await admin('/admin/tenants/routing/agents/zoe', 'PUT', {
      email: 'zoe@routing.test',
      name: 'Zoe',
      password: 'short',
    });
    expect([weak.status, weak.body.code]).toEqual([400, 'HITL_ERR_INVALID']);
    const noPassword = await admin('/admin/tenants/routing/agents/zoe', 'PUT', {
      email: 'zoe@routing.test',
      name: 'Zoe',
    });
    expect([noPassword.status, noPassword.body.code]).toEqual([400, 'HITL_ERR_PASSWORD_REQUIRED']);
    const badSettings = await admin('/admin/tenants/routing/hitl-settings', 'PUT', {
      assignment: 'lottery',
    });
    expect([badSettings.status, badSettings.body.code]).toEqual([400, 'HITL_ERR_INVALID']);
  });

  it('creates agents with languages and skills, and a disabled agent can no longer work', async () => {
    for (const [id, languages] of [
      ['dora', ['de']],
      ['fran', ['fr']],
    ] as const) {
      const created = await admin(`/admin/tenants/routing/agents/${id}`, 'PUT', {
        email: `${id}@routing.test`,
        name: id,
        password: `${id}-password-long`,
        maxConcurrent: 2,
        skills: ['billing'],
        languages,
      });
      expect(created.status).toBe(200);
      expect(created.body.agent).toMatchObject({ id, languages, skills: ['billing'] });
      expect(JSON.stringify(created.body)).not.toContain('password');
    }
    const token = await api.signIn('routing', 'fran@routing.test', 'fran-password-long');
    // A rename without a password keeps the password.
    await admin('/admin/tenants/routing/agents/fran', 'PUT', {
      email: 'fran@routing.test',
      name: 'Françoise',
      languages: ['fr'],
    });
    expect((await api.call('/v1/agent/queue', { token })).status).toBe(200);
    const disabled = await admin('/admin/tenants/routing/agents/fran', 'DELETE');
    expect(disabled.body).toMatchObject({ disabled: 'fran', requeued: [] });
    const refused = await api.call('/v1/agent/queue', { token });
    expect([refused.status, refused.body.code]).toEqual([401, 'HITL_ERR_UNAUTHORIZED']);
    const signIn = await api.call('/v1/agent/sessions', {
      body: { tenantId: 'routing', email: 'fran@routing.test', password: 'fran-password-long' },
    });
    expect(signIn.status).toBe(401);
    const roster = await admin('/admin/tenants/routing/agents', 'GET');
    expect((roster.body.agents as Array<{ id: string }>).map((a) => a.id)).toEqual(['dora']);
  });
});

describe('queues split by skill and language, and VIP customers (embedded)', () => {
  it('refuses a customer identity whose signature does not match, or a bad language tag', async () => {
    const { baseUrl, origin } = platform;
    const forged = await createSession(
      baseUrl,
      { widgetKey: 'pk_routing', customer: { id: 'cust-vip', signature: sign('someone-else') } },
      origin,
    );
    expect([forged.status, forged.body.code]).toEqual([401, 'GW_ERR_IDENTITY_INVALID']);
    const unverifiable = await createSession(
      baseUrl,
      { widgetKey: 'pk_demo', customer: { id: 'cust-vip', signature: sign('cust-vip') } },
      origin,
    );
    expect([unverifiable.status, unverifiable.body.code]).toEqual([401, 'GW_ERR_IDENTITY_INVALID']);
    const badTag = await createSession(
      baseUrl,
      { widgetKey: 'pk_routing', language: 'german!' },
      origin,
    );
    expect([badTag.status, badTag.body.code]).toEqual([400, 'GW_ERR_BAD_REQUEST']);
  });

  it("queues a handoff in its skill's queue and the visitor's language, and dispatches it only to an agent who speaks it", async () => {
    const settings = await admin('/admin/tenants/routing/hitl-settings', 'PUT', {
      assignment: 'least_busy',
      routes: [{ queue: 'billing', keywords: ['invoice'] }],
    });
    expect(settings.status).toBe(200);
    const { handoffs } = platform.app.platform.hitl.stores;
    // Nobody speaking Italian is here: the Italian visitor waits, in their own line.
    const italian = await visitorAskingForHuman(platform, {
      widgetKey: 'pk_routing',
      language: 'it-IT',
      text: 'I want to talk to a human about my invoice',
    });
    const waiting = await openHandoff(platform, 'routing', italian.session.conversationId);
    expect(waiting).toMatchObject({ queue: 'billing', language: 'it', reason: 'user_request' });

    await platform.app.platform.hitl.stores.agents.touchAgent('routing', 'dora');
    const german = await visitorAskingForHuman(platform, {
      widgetKey: 'pk_routing',
      language: 'de-CH',
      text: 'I want to talk to a human about my invoice',
    });
    const joined = await german.waitFor(
      (f) => f.type === 'message' && f.role === 'system' && /joined/.test(String(f.text)),
    );
    expect(joined.text).toBe('dora joined the conversation.');
    expect(await handoffs.openFor('routing', german.session.conversationId)).toMatchObject({
      status: 'assigned',
      agentId: 'dora',
      language: 'de',
      queue: 'billing',
    });
    // Positions count within a queue and language: the Italian visitor is still first in theirs.
    expect((await handoffs.queued('routing')).map((h) => [h.language, h.position])).toEqual([
      ['it', 1],
    ]);
    const queue = await api.call('/v1/agent/queue', {
      token: await api.signIn('routing', 'dora@routing.test', 'dora-password-long'),
    });
    expect(queue.body.queues).toEqual(['general', 'billing']);
  });

  it("hands a VIP customer's new conversation to a person before the assistant answers, ahead of others", async () => {
    const vip = await visitorAskingForHuman(platform, {
      widgetKey: 'pk_routing',
      text: 'Hello, a quick question about shipping',
      language: 'it',
      customer: { id: 'cust-vip', signature: sign('cust-vip') },
    });
    const answer = await vip.waitFor((f) => f.type === 'message' && f.role === 'assistant');
    expect(answer.text).toMatch(/Welcome back/);
    const handoff = await openHandoff(platform, 'routing', vip.session.conversationId);
    expect(handoff).toMatchObject({ reason: 'tenant_rule', priority: 50 });
    expect(
      await platform.app.platform.store.conversation(
        'routing',
        vip.session.conversationId,
        'primary',
      ),
    ).toMatchObject({ customerId: 'cust-vip', language: 'it' });
    // Ahead of the Italian visitor who came first.
    await expectEventually(async () => {
      const queued = await platform.app.platform.hitl.stores.handoffs.queued('routing');
      expect(queued[0]?.conversationId).toBe(vip.session.conversationId);
    });
  });
});
