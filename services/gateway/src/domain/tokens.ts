import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import { SigningKeys, type SigningKey } from '@parley/config';

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
 * visitor tokens that let a returning visitor keep their conversation. The
 * keys are shared by every region (`PARLEY_SESSION_SECRET`), so a visitor
 * moved to another region keeps its tokens; each token names its key.
 */
export class WidgetTokens {
  private readonly keys: SigningKeys;
  /** Per signing key, the key of conversation-id MACs (the signing key's first). */
  private readonly conversationKeys: Buffer[];

  constructor(
    keys: SigningKeys | readonly SigningKey[] | string,
    private readonly sessionTtlSeconds: number,
    private readonly visitorTtlSeconds: number,
  ) {
    this.keys = keys instanceof SigningKeys ? keys : new SigningKeys(keys);
    this.conversationKeys = this.keys.derived('parley conversation ids');
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
    this.conversationMac(this.conversationKeys[0]!, tenantId, visitorId, bytes.subarray(0, 8)).copy(
      bytes,
      8,
    );
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
    return this.conversationKeys.some((key) => {
      const mac = this.conversationMac(key, tenantId, visitorId, bytes.subarray(0, 8));
      mac[0] = (mac[0]! & 0x3f) | 0x80;
      return timingSafeEqual(mac, bytes.subarray(8));
    });
  }

  private conversationMac(
    key: Buffer,
    tenantId: string,
    visitorId: string,
    random: Buffer,
  ): Buffer {
    return createHmac('sha256', key)
      .update(`${tenantId}\u0000${visitorId}\u0000`)
      .update(random)
      .digest()
      .subarray(0, 8);
  }

  async issueSession(claims: SessionClaims): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + this.sessionTtlSeconds * 1000);
    const token = await this.keys.sign(
      new SignJWT({
        typ: 'session',
        c: claims.conversationId,
        o: claims.origin,
        ...(claims.language ? { l: claims.language } : {}),
        ...(claims.customerId ? { cu: claims.customerId } : {}),
      })
        .setIssuer(ISSUER)
        .setAudience(claims.tenantId)
        .setSubject(claims.visitorId)
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000)),
    );
    return { token, expiresAt };
  }

  async issueVisitor(claims: VisitorClaims): Promise<string> {
    return this.keys.sign(
      new SignJWT({ typ: 'visitor' })
        .setIssuer(ISSUER)
        .setAudience(claims.tenantId)
        .setSubject(claims.visitorId)
        .setExpirationTime(`${this.visitorTtlSeconds}s`),
    );
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
    const payload = await this.keys.verify(token, ISSUER);
    if (!payload) return null;
    if (payload.typ !== typ || typeof payload.sub !== 'string' || typeof payload.aud !== 'string')
      return null;
    return payload;
  }
}
