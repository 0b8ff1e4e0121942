import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { agentApi } from './agents.js';
import { startPlatform, type Running } from './start.js';

/**
 * Agents signing in with an ID token from the tenant's OpenID Connect
 * provider: a local provider publishing its discovery document and keys,
 * the hitl service finding them from the issuer URL.
 */
let provider: Server;
let issuer: string;
let key: CryptoKey;
let jwk: JWK;
let platform: Running;
let api: ReturnType<typeof agentApi>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  provider = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      return void res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    if (req.url === '/keys') return void res.end(JSON.stringify({ keys: [jwk] }));
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  platform = await startPlatform({
    // Each exchange comes from an address of its own (sign-in attempts are limited per address).
    TRUST_PROXY: 'true',
    HITL_OIDC_ISSUER: issuer,
    HITL_OIDC_CLIENT_ID: 'parley-console',
  });
  api = agentApi(platform);
  await platform.app.platform.hitl.stores.agents.upsertAgent({
    tenantId: 'demo',
    id: 'sso-agent',
    email: 'Sso.Agent@parley.demo',
    name: 'Sam',
    password: 'a-long-unused-password',
  });
});
afterAll(async () => {
  await platform?.close();
  provider?.close();
});

/**
 * An ID token as the provider would sign it, with `claims` over sensible
 * defaults; `subject`, `issuedAt` or `expires` null leaves that claim out.
 */
async function idToken(
  claims: Record<string, unknown> = {},
  {
    signer = key,
    audience = 'parley-console',
    from = issuer,
    expires = '5m' as string | number | null,
    subject = 'idp-user-1' as string | null,
    issuedAt = Math.floor(Date.now() / 1000) as number | null,
  } = {},
): Promise<string> {
  const jwt = new SignJWT({ email: 'sso.agent@parley.demo', email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(from)
    .setAudience(audience);
  if (subject !== null) jwt.setSubject(subject);
  if (issuedAt !== null) jwt.setIssuedAt(issuedAt);
  if (expires !== null) jwt.setExpirationTime(expires);
  return jwt.sign(signer);
}

let client = 0;
const exchange = (token: string, tenantId = 'demo') =>
  api.call('/v1/agent/sessions/oidc', {
    body: { tenantId, idToken: token },
    headers: { 'x-forwarded-for': `203.0.113.${++client}` },
  });

describe('agents signing in through OpenID Connect (embedded)', () => {
  it("signs in the tenant's agent whose verified e-mail the provider's ID token carries", async () => {
    const { status, body } = await exchange(await idToken());
    expect(status).toBe(201);
    expect(body.agent).toMatchObject({ id: 'sso-agent', name: 'Sam' });
    const queue = await api.call('/v1/agent/queue', { token: body.token! });
    expect(queue.status).toBe(200);
  });

  it('refuses tokens signed by another key, for another client or issuer, expired, unverified, of an unknown agent or of another tenant', async () => {
    const stranger = (await generateKeyPair('RS256')).privateKey;
    const refused = [
      await idToken({}, { signer: stranger }),
      await idToken({}, { audience: 'another-app' }),
      await idToken({}, { from: 'https://evil.example' }),
      await idToken({}, { expires: '-1m' }),
      await idToken({ email_verified: false }),
      await idToken({ email_verified: undefined }),
      await idToken({ email_verified: 'false' }),
      await idToken({ email_verified: 'true' }),
      await idToken({}, { expires: null }),
      await idToken({}, { issuedAt: null }),
      await idToken({}, { subject: null }),
      // Issued 20 minutes ago, still unexpired: not one made for this sign-in.
      await idToken({}, { issuedAt: Math.floor(Date.now() / 1000) - 1_200, expires: '1h' }),
      await idToken({ email: 'nobody@parley.demo' }),
      'not-a-jwt',
    ];
    for (const token of refused) {
      const { status, body } = await exchange(token);
      expect([status, body.code]).toEqual([401, 'HITL_ERR_BAD_CREDENTIALS']);
    }
    const otherTenant = await exchange(await idToken(), 'someone-else');
    expect([otherTenant.status, otherTenant.body.code]).toEqual([401, 'HITL_ERR_BAD_CREDENTIALS']);
  });

  it('binds the agent to the subject of its first sign-in: the same e-mail under another subject is refused', async () => {
    await platform.app.platform.hitl.stores.agents.upsertAgent({
      tenantId: 'demo',
      id: 'bound-agent',
      email: 'bound@parley.demo',
      name: 'Bea',
      password: 'a-long-unused-password',
    });
    const as = (subject: string) => idToken({ email: 'bound@parley.demo' }, { subject });
    expect((await exchange(await as('idp-user-7'))).status).toBe(201);
    const other = await exchange(await as('idp-user-8'));
    expect([other.status, other.body.code]).toEqual([401, 'HITL_ERR_BAD_CREDENTIALS']);
    expect((await exchange(await as('idp-user-7'))).status).toBe(201);
  });

  it('does not offer single sign-on where it is not configured', async () => {
    const plain = await startPlatform();
    try {
      const { status, body } = await agentApi(plain).call('/v1/agent/sessions/oidc', {
        body: { tenantId: 'demo', idToken: await idToken() },
      });
      expect([status, body.code]).toEqual([404, 'HITL_ERR_NOT_FOUND']);
    } finally {
      await plain.close();
    }
  });
});
