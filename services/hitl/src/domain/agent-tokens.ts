import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/** Who an agent token identifies. */
export interface AgentClaims {
  tenantId: string;
  agentId: string;
  name: string;
}

const ISSUER = 'parley-hitl';

/** Signs and verifies agents' bearer tokens (HS256 JWTs bound to tenant and agent). */
export class AgentTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds = 12 * 3600,
  ) {
    if (secret.length < 32)
      throw new RangeError('the agent token secret needs at least 32 characters');
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: AgentClaims): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    const token = await new SignJWT({ typ: 'agent', n: claims.name })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(claims.tenantId)
      .setSubject(claims.agentId)
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
    return { token, expiresAt };
  }

  /** The claims, or null when the token is malformed, forged or expired. */
  async verify(token: string): Promise<AgentClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
      });
      if (payload.typ !== 'agent' || typeof payload.aud !== 'string' || !payload.sub) return null;
      return { tenantId: payload.aud, agentId: payload.sub, name: String(payload.n ?? '') };
    } catch {
      return null;
    }
  }

  /**
   * A ticket for the console's event stream: EventSource cannot send headers,
   * so this goes in the URL instead of the agent's token. It lives
   * {@link TICKET_SECONDS} seconds, and its `jti` lets the stream take it once.
   */
  async issueTicket(claims: AgentClaims): Promise<{ ticket: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + TICKET_SECONDS * 1000);
    const ticket = await new SignJWT({ typ: 'ticket', n: claims.name })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(claims.tenantId)
      .setSubject(claims.agentId)
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
    return { ticket, expiresAt };
  }

  /** The ticket's claims and id, or null when it is malformed, forged or expired. */
  async verifyTicket(ticket: string): Promise<(AgentClaims & { ticketId: string }) | null> {
    try {
      const { payload } = await jwtVerify(ticket, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
      });
      if (
        payload.typ !== 'ticket' ||
        typeof payload.aud !== 'string' ||
        !payload.sub ||
        !payload.jti
      )
        return null;
      return {
        tenantId: payload.aud,
        agentId: payload.sub,
        name: String(payload.n ?? ''),
        ticketId: payload.jti,
      };
    } catch {
      return null;
    }
  }
}

/** How long an event-stream ticket is good for. */
export const TICKET_SECONDS = 30;
