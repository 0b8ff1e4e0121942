import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { testPlatform, type TestPlatform } from './index.js';

/** A module answering what it was given and what the platform provides. */
async function echoModule(app: FastifyInstance, options: { name: string; seen: string[] }) {
  options.seen.push(options.name);
  app.get(`/${options.name}`, async (request) => ({
    name: options.name,
    ip: request.ip,
    tables: (
      await app.ports.db.read<{ n: number }>(
        `select count(*)::int as n from information_schema.tables where table_name = 'tenants'`,
      )
    )[0]!.n,
  }));
}

let platform: TestPlatform | undefined;
afterEach(async () => {
  await platform?.close();
  platform = undefined;
});

describe('testPlatform', () => {
  it('registers the modules in order on the migrated embedded ports and listens on loopback', async () => {
    const seen: string[] = [];
    platform = await testPlatform({
      env: { GREETING: 'second' },
      modules: [
        [echoModule, { name: 'first', seen }],
        [echoModule, ({ env, app }) => ({ name: env.GREETING!, seen: [...seen, String(!!app)] })],
      ],
    });
    expect(seen).toEqual(['first']);
    expect(platform.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(platform.origin).toBe(platform.baseUrl);
    const res = await fetch(`${platform.baseUrl}/second`);
    expect(await res.json()).toMatchObject({ name: 'second', tables: 1 });
    expect((await fetch(`${platform.baseUrl}/healthz`)).status).toBe(200);
  });

  it('creates tenants allowing its own origins unless told otherwise', async () => {
    platform = await testPlatform({
      modules: [],
      tenants: [{ id: 'shop', name: 'Shop', widgetKey: 'pk_shop' }],
    });
    const port = new URL(platform.baseUrl).port;
    expect(await platform.store.tenantByWidgetKey('pk_shop', 'primary')).toMatchObject({
      id: 'shop',
      allowedOrigins: [platform.origin, `http://localhost:${port}`],
    });
    await platform.addTenant({
      id: 'other',
      name: 'Other',
      widgetKey: 'pk_other',
      allowedOrigins: ['https://other.test'],
    });
    expect(await platform.store.tenantByWidgetKey('pk_other', 'primary')).toMatchObject({
      allowedOrigins: ['https://other.test'],
    });
  });

  it('takes the client address from X-Forwarded-For only with TRUST_PROXY', async () => {
    const ipOf = async (trust: string) => {
      const p = await testPlatform({
        env: { TRUST_PROXY: trust },
        modules: [[echoModule, { name: 'ip', seen: [] }]],
      });
      try {
        const res = await fetch(`${p.baseUrl}/ip`, {
          headers: { 'x-forwarded-for': '203.0.113.9' },
        });
        return ((await res.json()) as { ip: string }).ip;
      } finally {
        await p.close();
      }
    };
    expect(await ipOf('true')).toBe('203.0.113.9');
    expect(await ipOf('false')).toBe('127.0.0.1');
  });

  it('closes what it opened when a module fails to register', async () => {
    const failing = async () => {
      throw new Error('no such thing');
    };
    await expect(testPlatform({ modules: [[failing, {}]] })).rejects.toThrow('no such thing');
  });
});
