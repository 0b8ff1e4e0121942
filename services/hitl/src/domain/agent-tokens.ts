import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { SigningKeys, type SigningKey } from '@parley/config';

/** Who an agent token identifies. */
export interface AgentClaims {
  tenantId: string;
  agentId: string;
  name: string;
}

const ISSUER = 'parley-hitl';

/** Signs and verifies agents' bearer tokens (HS256 JWTs bound to tenant and agent). */
export class AgentTokens {
  private readonly keys: SigningKeys;

  /** `keys`: shared by every region (`PARLEY_AGENT_SECRET`), so an agent signed in stays signed in after a failover. */
  constructor(
    keys: SigningKeys | readonly SigningKey[] | string,
    private readonly ttlSeconds = 12 * 3600,
  ) {
    this.keys = keys instanceof SigningKeys ? keys : new SigningKeys(keys);
  }

  async issue(claims: AgentClaims): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    const token = await this.keys.sign(
      new SignJWT({ typ: 'agent', n: claims.name })
        .setIssuer(ISSUER)
        .setAudience(claims.tenantId)
        .setSubject(claims.agentId)
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000)),
    );
    return { token, expiresAt };
  }

  /** The claims, or null when the token is malformed, forged or expired. */
  async verify(token: string): Promise<AgentClaims | null> {
    const payload = await this.keys.verify(token, ISSUER);
    if (!payload || payload.typ !== 'agent' || typeof payload.aud !== 'string' || !payload.sub)
      return null;
    return { tenantId: payload.aud, agentId: payload.sub, name: String(payload.n ?? '') };
  }

  /**
   * A ticket for the console's event stream: EventSource cannot send headers,
   * so this goes in the URL instead of the agent's token. It lives
   * {@link TICKET_SECONDS} seconds, and its `jti` lets the stream take it once.
   */
  async issueTicket(claims: AgentClaims): Promise<{ ticket: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + TICKET_SECONDS * 1000);
    const ticket = await this.keys.sign(
      new SignJWT({ typ: 'ticket', n: claims.name })
        .setIssuer(ISSUER)
        .setAudience(claims.tenantId)
        .setSubject(claims.agentId)
        .setJti(randomUUID())
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000)),
    );
    return { ticket, expiresAt };
  }

  /** The ticket's claims and id, or null when it is malformed, forged or expired. */
  async verifyTicket(ticket: string): Promise<(AgentClaims & { ticketId: string }) | null> {
    const payload = await this.keys.verify(ticket, ISSUER);
    if (
      !payload ||
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
  }
}

/** How long an event-stream ticket is good for. */
export const TICKET_SECONDS = 30;
