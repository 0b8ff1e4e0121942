import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TenantView } from './client.js';
import { main } from './cli.js';

const TOKEN = 'test-admin-token-0123456789abcdef';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** The gateway's tenant admin API as the spec describes it, in memory, on 127.0.0.1. */
async function fakeAdminApi() {
  const tenants = new Map<string, TenantView>();
  const requests: Seen[] = [];
  let issued = 0;
  const newKey = () => ({ key: `pk_test${++issued}`, createdAt: new Date().toISOString() });
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? (JSON.parse(raw) as Partial<TenantView>) : undefined;
    requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    const send = (status: number, json?: unknown) =>
      void res
        .writeHead(status, json ? { 'content-type': 'application/json' } : {})
        .end(json ? JSON.stringify(json) : undefined);
    const fail = (status: number, code: string, message: string) => send(status, { code, message });

    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return fail(401, 'GW_ERR_UNAUTHORIZED', 'bad admin token');
    const route = /^\/admin\/tenants\/([^/]+)(?:\/(widget-keys|identity-secret)(\/[^/]+)?)?$/.exec(
      req.url!,
    );
    if (!route) return fail(404, 'GW_ERR_NOT_FOUND', 'not found');
    const id = decodeURIComponent(route[1]!);
    const key = route[3] && decodeURIComponent(route[3].slice(1));
    const tenant = tenants.get(id);
    const action = `${req.method} ${route[2] ?? ''}${key ? '/:key' : ''}`;

    if (action === 'PUT ') {
      if (tenant && req.headers['if-none-match'] === '*')
        return fail(409, 'GW_ERR_TENANT_EXISTS', `tenant ${id} exists`);
      if (tenant) return send(200, { tenant: Object.assign(tenant, body) });
      if (!Array.isArray(body?.allowedOrigins))
        return fail(400, 'GW_ERR_BAD_REQUEST', 'allowedOrigins is required');
      const created: TenantView = {
        id,
        name: body.name ?? id,
        allowedOrigins: body.allowedOrigins,
        emergencyContact: body.emergencyContact ?? null,
        aiSettings: body.aiSettings ?? {},
        hitlSettings: body.hitlSettings ?? {},
        widgetKeys: [newKey()],
        identitySecret: false,
        createdAt: new Date().toISOString(),
      };
      tenants.set(id, created);
      return send(201, { tenant: created, widgetKey: created.widgetKeys[0]!.key });
    }
    if (!tenant) return fail(404, 'GW_ERR_UNKNOWN_TENANT', `no tenant ${id}`);
    switch (action) {
      case 'GET ':
        return send(200, { tenant });
      case 'DELETE ':
        tenants.delete(id);
        return send(204);
      case 'POST widget-keys': {
        const widgetKey = newKey();
        tenant.widgetKeys.push(widgetKey);
        return send(201, { widgetKey });
      }
      case 'DELETE widget-keys/:key': {
        const at = tenant.widgetKeys.findIndex((k) => k.key === key);
        if (at < 0) return fail(404, 'GW_ERR_UNKNOWN_WIDGET_KEY', `no key ${key}`);
        if (tenant.widgetKeys.length === 1)
          return fail(409, 'GW_ERR_LAST_WIDGET_KEY', 'the last key cannot be revoked');
        tenant.widgetKeys.splice(at, 1);
        return send(204);
      }
      case 'POST identity-secret':
        tenant.identitySecret = true;
        return send(201, { identitySecret: `sec_${randomBytes(16).toString('hex')}` });
      case 'DELETE identity-secret':
        tenant.identitySecret = false;
        return send(204);
    }
    return fail(404, 'GW_ERR_NOT_FOUND', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tenants,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let api: Awaited<ReturnType<typeof fakeAdminApi>>;
beforeEach(async () => {
  api = await fakeAdminApi();
});
afterEach(() => api.close());

/** Runs the CLI in-process against the fake, with the right token unless `env` says otherwise. */
async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    env: { PARLEY_ADMIN_URL: api.url, PARLEY_ADMIN_TOKEN: TOKEN, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

const createAcme = (...more: string[]) =>
  cli(['tenant', 'create', 'acme', '--origin', 'https://shop.example', ...more]);

describe('tenant create', () => {
  it('prints the script tag with the public URL and the key the gateway issued', async () => {
    const run = await cli([
      'tenant',
      'create',
      'acme',
      '--origin',
      'https://shop.example/',
      '--origin',
      'http://localhost:3000',
      '--name',
      'Acme',
      '--ai-settings',
      '{"tone":"friendly"}',
      '--public-url',
      'https://chat.example/',
    ]);
    expect(run).toMatchObject({ code: 0 });
    const key = api.tenants.get('acme')!.widgetKeys[0]!.key;
    expect(run.stdout).toBe(
      `<script src="https://chat.example/widget.js" data-widget-key="${key}" async></script>\n`,
    );
    expect(run.stderr).toContain('https://shop.example, http://localhost:3000');
    const [put] = api.requests;
    expect(put).toMatchObject({ method: 'PUT', url: '/admin/tenants/acme' });
    expect(put!.headers['if-none-match']).toBe('*');
    expect(put!.body).toEqual({
      allowedOrigins: ['https://shop.example', 'http://localhost:3000'],
      name: 'Acme',
      aiSettings: { tone: 'friendly' },
    });
  });

  it('defaults the public URL to --url', async () => {
    const run = await createAcme('--url', `${api.url}/`);
    expect(run.stdout).toContain(`src="${api.url}/widget.js"`);
  });

  it('refuses an existing tenant with GW_ERR_TENANT_EXISTS and leaves it as it was', async () => {
    await createAcme('--name', 'First');
    const run = await createAcme('--name', 'Second');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^GW_ERR_TENANT_EXISTS: /);
    expect(run.stdout).toBe('');
    expect(api.tenants.get('acme')!.name).toBe('First');
  });
});

describe('bad usage', () => {
  const cases: Array<[string, string[]]> = [
    ['an origin with a path', ['tenant', 'create', 'acme', '--origin', 'https://a.example/shop']],
    ['an origin without a scheme', ['tenant', 'create', 'acme', '--origin', 'shop.example']],
    ['a non-http origin', ['tenant', 'create', 'acme', '--origin', 'ftp://a.example']],
    ['an origin with upper case', ['tenant', 'create', 'acme', '--origin', 'https://A.example']],
    ['an id starting with a dot', ['tenant', 'create', '.acme', '--origin', 'https://a.example']],
    ['an id with a space', ['tenant', 'show', 'ac me']],
    ['an id of 129 characters', ['tenant', 'show', 'a'.repeat(129)]],
    ['create without an origin', ['tenant', 'create', 'acme']],
    ['settings that are not an object', ['tenant', 'update', 'acme', '--ai-settings', '[1]']],
    ['settings that are not JSON', ['tenant', 'update', 'acme', '--hitl-settings', '{on}']],
    ['update with nothing to change', ['tenant', 'update', 'acme']],
    [
      'both emergency contact options',
      ['tenant', 'update', 'acme', '--emergency-contact', 'x', '--no-emergency-contact'],
    ],
    ['an unknown option', ['tenant', 'delete', 'acme', '--force']],
    ['an option of another command', ['tenant', 'show', 'acme', '--origin', 'https://a.example']],
    ['an unknown command', ['tenant', 'list']],
    ['no command', []],
    ['a missing argument', ['tenant', 'key', 'revoke', 'acme']],
    ['an extra argument', ['tenant', 'show', 'acme', 'extra']],
    ['a key that is not a widget key', ['tenant', 'key', 'revoke', 'acme', 'acme']],
    ['a token on the command line', ['tenant', 'show', 'acme', '--token', TOKEN]],
    ['a bad --url', ['tenant', 'show', 'acme', '--url', 'localhost:8080']],
  ];
  it.each(cases)('refuses %s: exit 2, reason and usage, no request', async (_, args) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^parley-admin: .+\n\nparley-admin: the operators' CLI/);
    expect(run.stderr).toContain('Usage:');
    expect(api.requests).toEqual([]);
  });

  it('refuses to run without a token', async () => {
    const run = await cli(['tenant', 'show', 'acme'], { PARLEY_ADMIN_TOKEN: undefined });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PARLEY_ADMIN_TOKEN');
    expect(api.requests).toEqual([]);
  });

  it('prints the usage on --help, saying why there is no --token', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('parley-admin tenant key revoke ID KEY');
    expect(run.stdout).toContain('shows in ps');
  });
});

describe('the token', () => {
  it('is read from --token-file, which wins over PARLEY_ADMIN_TOKEN', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'parley-admin-')), 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const run = await createAcme('--token-file', file);
    expect(run.code).toBe(0);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('when wrong, exits 1 with GW_ERR_UNAUTHORIZED', async () => {
    const run = await cli(['tenant', 'show', 'acme'], { PARLEY_ADMIN_TOKEN: 'wrong' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^GW_ERR_UNAUTHORIZED: /);
  });
});

describe('an existing tenant', () => {
  beforeEach(async () => {
    expect((await createAcme('--emergency-contact', '+1 555 0100')).code).toBe(0);
  });

  it('shows its origins, keys with dates, contact and secret state', async () => {
    const run = await cli(['tenant', 'show', 'acme']);
    expect(run.code).toBe(0);
    const { widgetKeys, createdAt } = api.tenants.get('acme')!;
    expect(run.stdout).toContain('https://shop.example');
    expect(run.stdout).toContain(`${widgetKeys[0]!.key}  created ${widgetKeys[0]!.createdAt}`);
    expect(run.stdout).toMatch(/emergency contact +\+1 555 0100/);
    expect(run.stdout).toMatch(/identity secret +not set/);
    expect(run.stdout).toContain(createdAt);
  });

  it('prints parseable JSON with --json', async () => {
    const run = await cli(['--json', 'tenant', 'show', 'acme']);
    expect(JSON.parse(run.stdout)).toEqual({ tenant: api.tenants.get('acme') });
  });

  it('updates only the options given, and never creates a tenant', async () => {
    const run = await cli(['tenant', 'update', 'acme', '--name', 'Acme', '--no-emergency-contact']);
    expect(run.code).toBe(0);
    expect(api.requests.at(-1)!.body).toEqual({ name: 'Acme', emergencyContact: null });
    expect(api.tenants.get('acme')).toMatchObject({
      name: 'Acme',
      emergencyContact: null,
      allowedOrigins: ['https://shop.example'],
    });
    const typo = await cli(['tenant', 'update', 'acmee', '--name', 'Oops']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^GW_ERR_UNKNOWN_TENANT: /);
    expect(api.tenants.has('acmee')).toBe(false);
  });

  it('issues a key as a new tag, the old key still listed, then revokes the old one', async () => {
    const [old] = api.tenants.get('acme')!.widgetKeys;
    const issue = await cli([
      'tenant',
      'key',
      'issue',
      'acme',
      '--public-url',
      'https://chat.example',
    ]);
    expect(issue.code).toBe(0);
    const fresh = api.tenants.get('acme')!.widgetKeys[1]!.key;
    expect(issue.stdout).toBe(
      `<script src="https://chat.example/widget.js" data-widget-key="${fresh}" async></script>\n`,
    );
    expect(issue.stderr).toContain('old keys stay valid until revoked');

    expect((await cli(['tenant', 'key', 'revoke', 'acme', old!.key])).code).toBe(0);
    expect(api.tenants.get('acme')!.widgetKeys.map((k) => k.key)).toEqual([fresh]);
    const last = await cli(['tenant', 'key', 'revoke', 'acme', fresh]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/^GW_ERR_LAST_WIDGET_KEY: /);
  });

  it('rotates the identity secret, printing it alone, then removes it', async () => {
    const rotate = await cli(['tenant', 'identity-secret', 'rotate', 'acme']);
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toMatch(/^sec_[0-9a-f]{32}\n$/);
    expect(rotate.stderr).toContain('shown once');
    expect(api.tenants.get('acme')!.identitySecret).toBe(true);
    expect((await cli(['tenant', 'identity-secret', 'remove', 'acme'])).code).toBe(0);
    expect(api.tenants.get('acme')!.identitySecret).toBe(false);
  });

  it('deletes it', async () => {
    const run = await cli(['tenant', 'delete', 'acme']);
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect((await cli(['tenant', 'show', 'acme'])).stderr).toMatch(/^GW_ERR_UNKNOWN_TENANT: /);
  });
});

describe('the gateway', () => {
  it('answers --json create with its JSON, the widget key included', async () => {
    const run = await createAcme('--json');
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { tenant: TenantView; widgetKey: string };
    expect(body.widgetKey).toBe(api.tenants.get('acme')!.widgetKeys[0]!.key);
  });

  it('when unreachable, exits 1 naming the URL', async () => {
    const gone = await fakeAdminApi();
    await gone.close();
    const run = await cli(['tenant', 'show', 'acme', '--url', gone.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach ${gone.url}/admin/tenants/acme`);
  });

  it('without the admin API, exits 1 with GW_ERR_NOT_FOUND and a hint', async () => {
    const run = await cli(['tenant', 'show', 'acme', '--url', `${api.url}/elsewhere`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^GW_ERR_NOT_FOUND: .*admin API/);
  });
});

describe('the built bin', () => {
  const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

  /** Runs dist/cli.js as operators do: its own process, its own environment. */
  function spawnCli(args: string[]) {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, PARLEY_ADMIN_TOKEN: TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
  }

  it('creates a tenant end to end and exits 2 on bad usage', async () => {
    expect(existsSync(bin), 'build the package first (pnpm build)').toBe(true);
    const run = await spawnCli([
      'tenant',
      'create',
      'acme',
      '--origin',
      'https://shop.example',
      '--url',
      api.url,
    ]);
    expect(run.stderr).toContain('Created tenant acme');
    expect(run.code).toBe(0);
    const key = api.tenants.get('acme')!.widgetKeys[0]!.key;
    expect(run.stdout).toBe(
      `<script src="${api.url}/widget.js" data-widget-key="${key}" async></script>\n`,
    );
    expect((await spawnCli(['tenant', 'create', 'acme'])).code).toBe(2);
  });
});
