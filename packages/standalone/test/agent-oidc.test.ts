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
    HITL_OIDC_ISSUER: issuer,
    HITL_OIDC_CLIENT_ID: 'parley-console',
  });
  api = agentApi(platform);
  await platform.app.platform.hitl.handoffs.upsertAgent({
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

/** An ID token as the provider would sign it, with `claims` over sensible defaults. */
async function idToken(
  claims: Record<string, unknown> = {},
  { signer = key, audience = 'parley-console', from = issuer, expires = '5m' } = {},
): Promise<string> {
  return new SignJWT({ email: 'sso.agent@parley.demo', email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(from)
    .setAudience(audience)
    .setSubject('idp-user-1')
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(signer);
}

const exchange = (token: string, tenantId = 'demo') =>
  api.call('/v1/agent/sessions/oidc', { body: { tenantId, idToken: token } });

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
