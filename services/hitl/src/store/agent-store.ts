import type { SqlDatabase } from '@parley/ports';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../domain/passwords.js';
import {
  AGENT_COLUMNS,
  HANDOFF_COLUMNS,
  toAgent,
  toHandoff,
  type Agent,
  type AgentRow,
  type Handoff,
  type HandoffRow,
} from './rows.js';

/**
 * The human agents, in Postgres (`agents`): accounts, sign-in, presence, and
 * the handoffs each holds (counted in `handoffs`). Every statement names the
 * tenant. Disabling an agent puts the handoffs it holds back in the queue in
 * the same transaction.
 */
export class AgentStore {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Adds an agent, or replaces its e-mail, name, capacity, skills and
   * languages (and its password, when given; a new agent needs one). A
   * disabled agent given again is enabled. Null when a new agent has no password.
   */
  async upsertAgent(agent: {
    tenantId: string;
    id: string;
    email: string;
    name: string;
    password?: string;
    maxConcurrent?: number;
    skills?: string[];
    languages?: string[];
  }): Promise<Agent | null> {
    const hash = agent.password === undefined ? null : await hashPassword(agent.password);
    const values = [
      agent.tenantId,
      agent.id,
      agent.email,
      agent.name,
      agent.maxConcurrent ?? 3,
      agent.skills ?? [],
      agent.languages ?? [],
      hash,
    ];
    const { result } = await this.db.transaction(async (tx) => {
      // Without a password only an existing agent can change.
      const [row] = await tx.query<AgentRow>(
        hash === null
          ? `update agents set email = lower($3), name = $4, max_concurrent = $5, skills = $6,
                    languages = $7, disabled_at = null
              where tenant_id = $1 and id = $2 and $8::text is null
              returning ${AGENT_COLUMNS}`
          : `insert into agents (tenant_id, id, email, name, max_concurrent, skills, languages,
                                 password_hash)
             values ($1, $2, lower($3), $4, $5, $6, $7, $8)
             on conflict (tenant_id, id) do update
               set email = lower($3), name = $4, max_concurrent = $5, skills = $6,
                   languages = $7, password_hash = $8, disabled_at = null
             returning ${AGENT_COLUMNS}`,
        values,
      );
      return row;
    });
    return result ? toAgent(agent.tenantId, result) : null;
  }

  /**
   * Adds an agent unless the tenant has one with this id or e-mail already
   * (enabled or not): an existing agent's password and state are never
   * touched. True when it was added.
   */
  async createAgentIfAbsent(agent: {
    tenantId: string;
    id: string;
    email: string;
    name: string;
    password: string;
  }): Promise<boolean> {
    const hash = await hashPassword(agent.password);
    const { result } = await this.db.transaction((tx) =>
      tx.query(
        `insert into agents (tenant_id, id, email, name, password_hash)
         values ($1, $2, lower($3), $4, $5)
         on conflict do nothing
         returning id`,
        [agent.tenantId, agent.id, agent.email, agent.name, hash],
      ),
    );
    return result.length > 0;
  }

  /** Whether the tenant has an agent with this id, enabled or not. */
  async agentExists(tenantId: string, agentId: string): Promise<boolean> {
    const rows = await this.db.read(
      'select 1 from agents where tenant_id = $1 and id = $2',
      [tenantId, agentId],
      'primary',
    );
    return rows.length > 0;
  }

  /**
   * Disables an agent: it can no longer sign in or use its tokens, and the
   * handoffs it holds go back to the queue (returned). Null when the tenant
   * has no such agent.
   */
  async disableAgent(tenantId: string, agentId: string): Promise<Handoff[] | null> {
    const { result } = await this.db.transaction(async (tx) => {
      const [agent] = await tx.query(
        `update agents set disabled_at = coalesce(disabled_at, now())
          where tenant_id = $1 and id = $2 returning id`,
        [tenantId, agentId],
      );
      if (!agent) return null;
      return tx.query<HandoffRow>(
        `update handoffs set status = 'queued', agent_id = null, assigned_at = null,
                last_agent_reply_at = null
          where tenant_id = $1 and agent_id = $2 and status = 'assigned'
          returning ${HANDOFF_COLUMNS}`,
        [tenantId, agentId],
      );
    });
    return result ? result.map(toHandoff) : null;
  }

  /** Whether the agent exists and is not disabled (checked on every call with its token). */
  async isActive(tenantId: string, agentId: string): Promise<boolean> {
    const [row] = await this.db.read(
      'select 1 from agents where tenant_id = $1 and id = $2 and disabled_at is null',
      [tenantId, agentId],
      'primary',
    );
    return row !== undefined;
  }

  /** The agent whose e-mail and password these are, or null (same work either way). */
  async authenticate(tenantId: string, email: string, password: string): Promise<Agent | null> {
    const [row] = await this.db.read<AgentRow & { password_hash: string }>(
      `select ${AGENT_COLUMNS}, password_hash from agents
        where tenant_id = $1 and email = lower($2) and disabled_at is null`,
      [tenantId, email],
      'primary',
    );
    const ok = await verifyPassword(password, row?.password_hash ?? (await DUMMY_HASH));
    if (!row || !ok) return null;
    return toAgent(tenantId, row);
  }

  /**
   * The tenant's active agent an OIDC sign-in is for: the one with this
   * e-mail, bound to the provider's subject on its first such sign-in; or
   * null when there is none, or it is bound to another subject.
   */
  async agentByOidc(
    tenantId: string,
    identity: { email: string; issuer: string; subject: string },
  ): Promise<Agent | null> {
    const { result } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<
        AgentRow & { oidc_issuer: string | null; oidc_subject: string | null }
      >(
        `select ${AGENT_COLUMNS}, oidc_issuer, oidc_subject from agents
          where tenant_id = $1 and email = lower($2) and disabled_at is null
          for update`,
        [tenantId, identity.email],
      );
      if (!row) return null;
      if (row.oidc_subject === null) {
        await tx.query(
          `update agents set oidc_issuer = $3, oidc_subject = $4 where tenant_id = $1 and id = $2`,
          [tenantId, row.id, identity.issuer, identity.subject],
        );
        return toAgent(tenantId, row);
      }
      return row.oidc_issuer === identity.issuer && row.oidc_subject === identity.subject
        ? toAgent(tenantId, row)
        : null;
    });
    return result;
  }

  /** An active agent of the tenant, or null. */
  async agent(tenantId: string, agentId: string): Promise<Agent | null> {
    const [row] = await this.db.read<AgentRow>(
      `select ${AGENT_COLUMNS} from agents
        where tenant_id = $1 and id = $2 and disabled_at is null`,
      [tenantId, agentId],
    );
    return row ? toAgent(tenantId, row) : null;
  }

  /** The tenant's agents, with whether each is present now and how many conversations each holds. */
  async agents(
    tenantId: string,
    presentWithinMs = 45_000,
  ): Promise<Array<Agent & { present: boolean; held: number }>> {
    const rows = await this.db.read<AgentRow & { present: boolean; held: number | string }>(
      `select a.id, a.email, a.name, a.max_concurrent, a.skills, a.languages,
              coalesce(a.last_seen_at > now() - ($2::double precision * interval '1 millisecond'), false) as present,
              (select count(*) from handoffs h
                where h.tenant_id = a.tenant_id and h.agent_id = a.id and h.status = 'assigned') as held
         from agents a where a.tenant_id = $1 and a.disabled_at is null
        order by a.name, a.id limit 500`,
      [tenantId, presentWithinMs],
      'primary',
    );
    return rows.map((r) => ({ ...toAgent(tenantId, r), present: r.present, held: Number(r.held) }));
  }

  /** Marks the agent as present (its console is connected). */
  async touchAgent(tenantId: string, agentId: string): Promise<void> {
    await this.db.transaction((tx) =>
      tx.query('update agents set last_seen_at = now() where tenant_id = $1 and id = $2', [
        tenantId,
        agentId,
      ]),
    );
  }

  /** Agents whose console was connected within the last `withinMs`. */
  async agentsOnline(tenantId: string, withinMs = 45_000): Promise<number> {
    const [row] = await this.db.read<{ n: number | string }>(
      `select count(*) as n from agents
        where tenant_id = $1 and disabled_at is null and last_seen_at > now() - ($2::double precision * interval '1 millisecond')`,
      [tenantId, withinMs],
      'primary',
    );
    return Number(row?.n ?? 0);
  }
}
