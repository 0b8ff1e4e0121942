import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';

/** Who a session token lets in, and where. */
export interface SessionClaims {
  tenantId: string;
  visitorId: string;
  conversationId: string;
  /** The page origin the session was issued to; the socket must come from it. */
  origin: string;
  /** The visitor's language (a primary subtag such as `de`). */
  language?: string;
  /** The tenant's id for the customer, verified with the tenant's identity secret. */
  customerId?: string;
}

/** Who a visitor token identifies (kept by the widget across visits). */
export interface VisitorClaims {
  tenantId: string;
  visitorId: string;
}

const ISSUER = 'parley-gateway';

/**
 * Signs and verifies the widget's tokens (HS256 JWTs): short-lived session
 * tokens bound to tenant, visitor, conversation and origin, and long-lived
 * visitor tokens that let a returning visitor keep their conversation.
 */
export class WidgetTokens {
  private readonly key: Uint8Array;
  private readonly conversationKey: Buffer;

  constructor(
    secret: string,
    private readonly sessionTtlSeconds: number,
    private readonly visitorTtlSeconds: number,
  ) {
    if (secret.length < 32) throw new RangeError('the session secret needs at least 32 characters');
    this.key = new TextEncoder().encode(secret);
    this.conversationKey = createHmac('sha256', secret).update('parley conversation ids').digest();
  }

  /**
   * A new conversation's id, bound to the visitor it is issued to: a UUID
   * (version 8, the custom one) whose first 8 bytes are random and whose last
   * 8 carry 62 bits of an HMAC of tenant, visitor and those bytes. So a
   * returning visitor may continue a conversation of theirs that has no
   * message yet, and nobody can pick an id (or take another visitor's) for a
   * conversation that does not exist. Every gateway of every region, sharing
   * the session secret, can check it without storage.
   */
  newConversationId(tenantId: string, visitorId: string): string {
    const bytes = randomBytes(16);
    bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
    this.conversationMac(tenantId, visitorId, bytes.subarray(0, 8)).copy(bytes, 8);
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Whether {@link newConversationId} issued `conversationId` to this visitor of this tenant. */
  issuedTo(conversationId: string, tenantId: string, visitorId: string): boolean {
    const match =
      /^([0-9a-f]{8})-([0-9a-f]{4})-(8[0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/.exec(
        conversationId,
      );
    if (!match) return false;
    const bytes = Buffer.from(match.slice(1).join(''), 'hex');
    const mac = this.conversationMac(tenantId, visitorId, bytes.subarray(0, 8));
    mac[0] = (mac[0]! & 0x3f) | 0x80;
    return timingSafeEqual(mac, bytes.subarray(8));
  }

  private conversationMac(tenantId: string, visitorId: string, random: Buffer): Buffer {
    return createHmac('sha256', this.conversationKey)
      .update(`${tenantId}\u0000${visitorId}\u0000`)
      .update(random)
      .digest()
      .subarray(0, 8);
  }

  async issueSession(claims: SessionClaims): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + this.sessionTtlSeconds * 1000);
    const token = await new SignJWT({
      typ: 'session',
      c: claims.conversationId,
      o: claims.origin,
      ...(claims.language ? { l: claims.language } : {}),
      ...(claims.customerId ? { cu: claims.customerId } : {}),
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(claims.tenantId)
      .setSubject(claims.visitorId)
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
    return { token, expiresAt };
  }

  async issueVisitor(claims: VisitorClaims): Promise<string> {
    return new SignJWT({ typ: 'visitor' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(claims.tenantId)
      .setSubject(claims.visitorId)
      .setExpirationTime(`${this.visitorTtlSeconds}s`)
      .sign(this.key);
  }

  /** The session's claims, or null when the token is malformed, forged or expired. */
  async verifySession(token: string): Promise<SessionClaims | null> {
    const payload = await this.verify(token, 'session');
    if (!payload || typeof payload.c !== 'string' || typeof payload.o !== 'string') return null;
    return {
      tenantId: payload.aud as string,
      visitorId: payload.sub!,
      conversationId: payload.c,
      origin: payload.o,
      ...(typeof payload.l === 'string' ? { language: payload.l } : {}),
      ...(typeof payload.cu === 'string' ? { customerId: payload.cu } : {}),
    };
  }

  /** The visitor's claims if the token is valid for `tenantId`, else null. */
  async verifyVisitor(token: string, tenantId: string): Promise<VisitorClaims | null> {
    const payload = await this.verify(token, 'visitor');
    if (!payload || payload.aud !== tenantId) return null;
    return { tenantId, visitorId: payload.sub! };
  }

  private async verify(token: string, typ: string) {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
      });
      if (payload.typ !== typ || typeof payload.sub !== 'string' || typeof payload.aud !== 'string')
        return null;
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }
}
