import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/** Where agents' ID tokens come from. */
export interface OidcOptions {
  /** The provider's issuer URL (the `iss` of its tokens). */
  issuer: string;
  /** The console's client id at the provider (the `aud` of its ID tokens). */
  clientId: string;
  /** The provider's key set; found through its discovery document when left out. */
  jwksUrl?: string;
}

/** Who a good ID token says signed in. */
export interface OidcIdentity {
  /** The verified e-mail address, lower case. */
  email: string;
  issuer: string;
  /** The provider's stable id of the user (`sub`). */
  subject: string;
}

/** The oldest ID token accepted (by its `iat`): one just issued for this sign-in. */
const MAX_TOKEN_AGE = '10m';

/**
 * Verifies ID tokens from the tenant's OpenID Connect provider: signature
 * against the provider's published keys, issuer, audience, `exp`, `iat` no
 * older than {@link MAX_TOKEN_AGE}, a `sub`, and `email_verified` exactly
 * `true`. The agent is then found by that e-mail and bound to the subject.
 */
export class OidcVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly options: OidcOptions) {}

  /** Who the token identifies, or null when the token is not good. */
  async identity(idToken: string): Promise<OidcIdentity | null> {
    try {
      const { payload } = await jwtVerify(idToken, await this.keySet(), {
        issuer: this.options.issuer,
        audience: this.options.clientId,
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: MAX_TOKEN_AGE,
      });
      if (typeof payload.email !== 'string' || payload.email_verified !== true) return null;
      if (!payload.sub) return null;
      return {
        email: payload.email.toLowerCase(),
        issuer: this.options.issuer,
        subject: payload.sub,
      };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover().catch((err: unknown) => {
      this.keys = undefined; // try discovery again next time
      throw err;
    });
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    if (this.options.jwksUrl) return createRemoteJWKSet(new URL(this.options.jwksUrl));
    const url = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`OIDC discovery failed: ${res.status} from ${url}`);
    const document = (await res.json()) as { issuer?: string; jwks_uri?: string };
    if (document.issuer !== this.options.issuer || typeof document.jwks_uri !== 'string')
      throw new Error('OIDC discovery document names another issuer or no jwks_uri');
    return createRemoteJWKSet(new URL(document.jwks_uri));
  }
}
