import { createHash, createHmac } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type SignJWT } from 'jose';

/** One HS256 key: its id (the tokens' `kid`) and its secret. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** A key id: letters, digits, `.`, `_`, `-`, up to 32. */
export const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;

/**
 * Reads a signing-key variable: a comma-separated list of keys, the signing
 * key first, each `id:secret`, or a bare secret whose id is derived from it
 * (so every region holding one secret agrees on its id, and a secret used
 * alone keeps its tokens valid when it is later listed second, bare).
 */
export function parseSigningKeys(value: string): SigningKey[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf(':');
      if (at < 0) return { id: derivedId(part), secret: part };
      return { id: part.slice(0, at).trim(), secret: part.slice(at + 1).trim() };
    });
}

function derivedId(secret: string): string {
  return `k${createHash('sha256').update(secret).digest('hex').slice(0, 8)}`;
}

/**
 * The keys that sign and verify one kind of token, shared by every region.
 * The first key signs, with its id as the token's `kid`; every key verifies
 * the tokens naming it, so a rotation adds the new key first, keeps the old
 * one until its tokens expire, then drops it, and nobody is logged out.
 * Tokens from before key ids existed (no `kid`) are tried against each key.
 */
export class SigningKeys {
  readonly keys: readonly SigningKey[];
  private readonly bytes: Map<string, Uint8Array>;

  constructor(keys: readonly SigningKey[] | string) {
    this.keys = typeof keys === 'string' ? parseSigningKeys(keys) : [...keys];
    if (this.keys.length === 0) throw new RangeError('at least one signing key is needed');
    for (const key of this.keys) {
      if (!KEY_ID.test(key.id)) throw new RangeError(`bad key id "${key.id.slice(0, 40)}"`);
      if (key.secret.length < 32)
        throw new RangeError(`signing key ${key.id} needs at least 32 characters`);
    }
    this.bytes = new Map(this.keys.map((k) => [k.id, new TextEncoder().encode(k.secret)]));
    if (this.bytes.size !== this.keys.length) throw new RangeError('two signing keys share an id');
  }

  /** The key new tokens are signed with. */
  get signing(): SigningKey {
    return this.keys[0]!;
  }

  /** Signs an HS256 JWT with the signing key, naming it in `kid`. */
  sign(jwt: SignJWT): Promise<string> {
    const { id } = this.signing;
    return jwt.setProtectedHeader({ alg: 'HS256', kid: id }).sign(this.bytes.get(id)!);
  }

  /**
   * The payload of an HS256 JWT signed by one of the keys and from `issuer`,
   * or null when it is malformed, forged, expired or names an unknown key.
   */
  async verify(token: string, issuer: string): Promise<JWTPayload | null> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return null;
    }
    const candidates =
      kid === undefined ? [...this.bytes.values()] : [this.bytes.get(String(kid))].filter(Boolean);
    for (const key of candidates) {
      try {
        return (await jwtVerify(token, key!, { issuer, algorithms: ['HS256'] })).payload;
      } catch (err) {
        if (!(err instanceof errors.JOSEError)) throw err;
      }
    }
    return null;
  }

  /**
   * A key derived from each signing key for another MAC (`label` keeps the
   * uses apart), signing key first: make with the first, check with all.
   */
  derived(label: string): Buffer[] {
    return this.keys.map((k) => createHmac('sha256', k.secret).update(label).digest());
  }
}
