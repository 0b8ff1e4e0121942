import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { SigningKeys, env, isConfigError, loadConfig } from './index.js';

const OLD = 'q8V3nZr1Lw0Yt6Hc2Bd9Kf5Mj4Xs7Pa+Ue=old';
const NEW = 'Zt4Qx9Lm2Wc7Rv0Bn6Hy3Kd8Fs1Jp5Ga/Ne=new';
const claims = () => new SignJWT({ typ: 't' }).setIssuer('parley-test').setExpirationTime('1h');

describe('SigningKeys', () => {
  it('signs with the first key, naming it, and verifies its own tokens', async () => {
    const keys = new SigningKeys([
      { id: '2026-12', secret: NEW },
      { id: '2026-06', secret: OLD },
    ]);
    const token = await keys.sign(claims());
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'HS256',
      kid: '2026-12',
    });
    expect(await keys.verify(token, 'parley-test')).toMatchObject({ typ: 't' });
  });

  it('rotates without logging anyone out: old tokens pass while their key is listed, then not', async () => {
    const before = new SigningKeys([{ id: '2026-06', secret: OLD }]);
    const during = new SigningKeys([
      { id: '2026-12', secret: NEW },
      { id: '2026-06', secret: OLD },
    ]);
    const after = new SigningKeys([{ id: '2026-12', secret: NEW }]);
    const old = await before.sign(claims());
    expect(await during.verify(old, 'parley-test')).not.toBeNull();
    expect(await after.verify(old, 'parley-test')).toBeNull();
    expect(await after.verify(await during.sign(claims()), 'parley-test')).not.toBeNull();
  });

  it('derives one id from one secret, so every region holding it agrees, also once it is listed bare', async () => {
    const a = new SigningKeys(NEW);
    const b = new SigningKeys(NEW);
    expect(a.signing.id).toMatch(/^k[0-9a-f]{8}$/);
    expect(a.signing.id).toBe(b.signing.id);
    expect(await b.verify(await a.sign(claims()), 'parley-test')).not.toBeNull();
    const rotated = new SigningKeys(`2027-01:${OLD},${NEW}`);
    expect(rotated.keys.map((k) => k.id)).toEqual(['2027-01', a.signing.id]);
    expect(await rotated.verify(await a.sign(claims()), 'parley-test')).not.toBeNull();
  });

  it('accepts a token from before key ids (no kid) signed by any listed key', async () => {
    const legacy = await claims()
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(OLD));
    const keys = new SigningKeys([
      { id: 'new', secret: NEW },
      { id: 'old', secret: OLD },
    ]);
    expect(await keys.verify(legacy, 'parley-test')).not.toBeNull();
  });

  it('refuses an unknown key id, another issuer, a forged signature and garbage', async () => {
    const keys = new SigningKeys([{ id: 'a', secret: NEW }]);
    const other = new SigningKeys([{ id: 'b', secret: OLD }]);
    const forged = new SigningKeys([{ id: 'a', secret: OLD }]);
    expect(await keys.verify(await other.sign(claims()), 'parley-test')).toBeNull();
    expect(await keys.verify(await forged.sign(claims()), 'parley-test')).toBeNull();
    expect(await keys.verify(await keys.sign(claims()), 'someone-else')).toBeNull();
    for (const junk of ['', 'not.a.jwt', '\u0000', '💥.💥.💥'])
      expect(await keys.verify(junk, 'parley-test')).toBeNull();
  });
});

describe('env.signingKeys', () => {
  const spec = { keys: env.signingKeys('PARLEY_SESSION_SECRET') };

  it('reads one secret, or a rotation list with the signing key first', () => {
    expect(loadConfig(spec, { PARLEY_SESSION_SECRET: NEW }).keys).toHaveLength(1);
    expect(
      loadConfig(spec, { PARLEY_SESSION_SECRET: `2026-12:${NEW}, 2026-06:${OLD}` }).keys,
    ).toEqual([
      { id: '2026-12', secret: NEW },
      { id: '2026-06', secret: OLD },
    ]);
  });

  it('refuses a short or example secret, a repeated id or a bad id, without echoing a secret', () => {
    for (const value of [
      'too-short',
      'replace-me-replace-me-replace-me-replace-me',
      `a:${NEW},a:${OLD}`,
      `bad id!:${NEW}`,
      `a:${NEW},b:short`,
    ]) {
      let error: unknown;
      try {
        loadConfig(spec, { PARLEY_SESSION_SECRET: value });
      } catch (err) {
        error = err;
      }
      expect(isConfigError(error), value).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('PARLEY_SESSION_SECRET');
      expect(message).not.toContain(NEW);
      expect(message).not.toContain(OLD);
    }
  });
});
