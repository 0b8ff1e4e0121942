import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WidgetClient } from '@parley/testing';
import { startPlatform, type Running } from './platform.js';

/**
 * The operators' tenant API on the one-process platform (gateway, chat and
 * AI on the embedded ports): a tenant onboarded through it chats at once
 * with the key it was given; keys rotate with both live, and a revoked one
 * stops working; every input is checked, every call needs the token.
 */
const TOKEN = 'tenant-admin-token-0123456789abcdef';
let platform: Running;
let origin: string;

beforeAll(async () => {
  platform = await startPlatform({ PARLEY_ADMIN_TOKEN: TOKEN });
  origin = new URL(platform.baseUrl).origin;
});
afterAll(() => platform?.close());

async function admin(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Opens a widget session with `widgetKey`, sends one question, resolves with the answer's text. */
async function chat(widgetKey: string): Promise<string> {
  const client = await WidgetClient.connect(platform.baseUrl, { widgetKey, origin });
  try {
    client.send({ type: 'resume', afterSeq: 0 });
    client.send({ type: 'message', clientMessageId: 'q1', text: 'What are your opening hours?' });
    const answer = await client.waitFor(
      (f) => f.type === 'message' && f.clientMessageId === 'reply:1',
      { timeoutMs: 15_000 },
    );
    return answer.text as string;
  } finally {
    client.close();
  }
}

async function sessionRefusal(widgetKey: string): Promise<unknown> {
  const res = await fetch(`${platform.baseUrl}/v1/widget/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ widgetKey }),
  });
  return { status: res.status, code: ((await res.json()) as { code?: string }).code };
}

describe('the tenant admin API', () => {
  it('onboards a tenant whose new widget key chats at once', async () => {
    const created = await admin(
      'PUT',
      '/admin/tenants/acme',
      { name: 'Acme 🚀 ‏שלום', allowedOrigins: [origin], emergencyContact: '+1 555 0199' },
      { 'if-none-match': '*' },
    );
    expect(created.status).toBe(201);
    const widgetKey = created.body.widgetKey as string;
    expect(widgetKey).toMatch(/^pk_/);
    expect(created.body.tenant).toMatchObject({
      id: 'acme',
      name: 'Acme 🚀 ‏שלום',
      allowedOrigins: [origin],
      emergencyContact: '+1 555 0199',
      widgetKeys: [{ key: widgetKey }],
      identitySecret: false,
    });
    expect((await chat(widgetKey)).length).toBeGreaterThan(0);

    const again = await admin(
      'PUT',
      '/admin/tenants/acme',
      { allowedOrigins: [origin] },
      {
        'if-none-match': '*',
      },
    );
    expect(again).toMatchObject({ status: 409, body: { code: 'GW_ERR_TENANT_EXISTS' } });
    const updated = await admin('PUT', '/admin/tenants/acme', {
      aiSettings: { tools: false },
      hitlSettings: { assignment: 'round_robin' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.tenant).toMatchObject({
      name: 'Acme 🚀 ‏שלום',
      allowedOrigins: [origin],
      aiSettings: { tools: false },
      hitlSettings: { assignment: 'round_robin' },
    });
    expect((await admin('GET', '/admin/tenants/acme')).body.tenant).toEqual(updated.body.tenant);
  });

  it('rotates widget keys with both live, then refuses the revoked one', async () => {
    const { body } = await admin('PUT', '/admin/tenants/rotating', { allowedOrigins: [origin] });
    const first = body.widgetKey as string;
    const issued = await admin('POST', '/admin/tenants/rotating/widget-keys', {});
    expect(issued.status).toBe(201);
    const second = (issued.body.widgetKey as { key: string }).key;
    expect((await chat(first)).length).toBeGreaterThan(0);
    expect((await chat(second)).length).toBeGreaterThan(0);
    expect((await admin('DELETE', `/admin/tenants/rotating/widget-keys/${first}`)).status).toBe(
      204,
    );
    expect(await sessionRefusal(first)).toEqual({
      status: 401,
      code: 'GW_ERR_UNKNOWN_WIDGET_KEY',
    });
    expect((await chat(second)).length).toBeGreaterThan(0);
    expect(await admin('DELETE', `/admin/tenants/rotating/widget-keys/${second}`)).toMatchObject({
      status: 409,
      body: { code: 'GW_ERR_LAST_WIDGET_KEY' },
    });
    expect(await admin('DELETE', `/admin/tenants/rotating/widget-keys/${first}`)).toMatchObject({
      status: 404,
      body: { code: 'GW_ERR_WIDGET_KEY_NOT_FOUND' },
    });
  });

  it('rotates the identity secret, shown once, and offboards a tenant whose key then stops working', async () => {
    const { body } = await admin('PUT', '/admin/tenants/leaving', { allowedOrigins: [origin] });
    const key = body.widgetKey as string;
    const rotated = await admin('POST', '/admin/tenants/leaving/identity-secret', {});
    expect(rotated.status).toBe(201);
    expect(String(rotated.body.identitySecret).length).toBeGreaterThanOrEqual(32);
    const shown = await admin('GET', '/admin/tenants/leaving');
    expect(shown.body.tenant).toMatchObject({ identitySecret: true });
    expect(JSON.stringify(shown.body)).not.toContain(String(rotated.body.identitySecret));
    expect((await admin('DELETE', '/admin/tenants/leaving/identity-secret')).status).toBe(204);

    expect((await admin('DELETE', '/admin/tenants/leaving')).status).toBe(204);
    expect(await sessionRefusal(key)).toEqual({ status: 401, code: 'GW_ERR_UNKNOWN_WIDGET_KEY' });
    expect(await admin('GET', '/admin/tenants/leaving')).toMatchObject({
      status: 404,
      body: { code: 'GW_ERR_UNKNOWN_TENANT' },
    });
    expect(await admin('DELETE', '/admin/tenants/leaving')).toMatchObject({ status: 404 });
    expect(
      await admin('PUT', '/admin/tenants/leaving', { allowedOrigins: [origin] }),
    ).toMatchObject({ status: 409, body: { code: 'GW_ERR_TENANT_DELETED' } });
  });

  it('refuses bad input with GW_ERR_BAD_REQUEST, naming the field', async () => {
    const cases: Array<[string, unknown]> = [
      ['/admin/tenants/new-one', {}],
      ['/admin/tenants/new-one', { allowedOrigins: ['https://shop.example/path'] }],
      ['/admin/tenants/new-one', { allowedOrigins: ['ftp://shop.example'] }],
      ['/admin/tenants/new-one', { allowedOrigins: [origin], name: 'a\u0000b' }],
      ['/admin/tenants/new-one', { allowedOrigins: [origin], colour: 'red' }],
      ['/admin/tenants/new-one', { allowedOrigins: [origin], aiSettings: { tools: 'yes' } }],
      ['/admin/tenants/new-one', { allowedOrigins: [origin], hitlSettings: { assignment: 'x' } }],
      ['/admin/tenants/bad:id', { allowedOrigins: [origin] }],
    ];
    for (const [path, body] of cases) {
      const res = await admin('PUT', path, body);
      expect(res, JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { code: 'GW_ERR_BAD_REQUEST' },
      });
    }
    expect((await admin('GET', '/admin/tenants/new-one')).status).toBe(404);
  });

  it('needs the operators’ token for every call', async () => {
    for (const [method, path] of [
      ['GET', '/admin/tenants/acme'],
      ['PUT', '/admin/tenants/acme'],
      ['DELETE', '/admin/tenants/acme'],
      ['POST', '/admin/tenants/acme/widget-keys'],
      ['POST', '/admin/tenants/acme/identity-secret'],
    ] as const) {
      const res = await fetch(`${platform.baseUrl}${path}`, {
        method,
        headers: { authorization: 'Bearer not-the-token' },
      });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('GW_ERR_UNAUTHORIZED');
    }
    expect((await admin('GET', '/admin/tenants/acme')).status).toBe(200);
  });
});
