import type { ReadConsistency, SqlDatabase, SqlTransaction } from '@parley/ports';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../domain/passwords.js';
import {
  hitlSettingsSchema,
  type AssignmentStrategy,
  type HitlSettings,
} from '../domain/settings.js';

/** A human agent (never with the password hash). */
export interface Agent {
  tenantId: string;
  id: string;
  email: string;
  name: string;
  maxConcurrent: number;
  /** Queue names this agent takes besides `general` (skills-based assignment). */
  skills: string[];
  /** Languages the agent takes conversations in (primary subtags); empty: any. */
  languages: string[];
}

/** One handoff of a conversation to humans. */
export interface Handoff {
  tenantId: string;
  id: string;
  conversationId: string;
  reason: string;
  queue: string;
  /** The visitor's language, when known: the handoff waits for an agent who speaks it. */
  language: string | null;
  priority: number;
  status: 'queued' | 'assigned' | 'closed';
  agentId: string | null;
  requestedAt: string;
  assignedAt: string | null;
  closedAt: string | null;
  /** When it was escalated for waiting past the SLA (once), or null. */
  escalatedAt: string | null;
}

/** A waiting handoff and its place in its queue (1 = next). */
export interface QueuedHandoff extends Handoff {
  position: number;
}

interface HandoffRow {
  tenant_id: string;
  id: string;
  conversation_id: string;
  reason: string;
  queue: string;
  language: string | null;
  priority: number;
  status: Handoff['status'];
  agent_id: string | null;
  requested_at: Date | string;
  assigned_at: Date | string | null;
  closed_at: Date | string | null;
  escalated_at?: Date | string | null;
}

const COLUMNS = `tenant_id, id, conversation_id, reason, queue, language, priority, status,
                 agent_id, requested_at, assigned_at, closed_at, escalated_at`;

interface AgentRow {
  id: string;
  email: string;
  name: string;
  max_concurrent: number;
  skills: string[];
  languages: string[];
}

const AGENT_COLUMNS = 'id, email, name, max_concurrent, skills, languages';

function toAgent(tenantId: string, row: AgentRow): Agent {
  return {
    tenantId,
    id: row.id,
    email: row.email,
    name: row.name,
    maxConcurrent: row.max_concurrent,
    skills: row.skills,
    languages: row.languages,
  };
}

/** Whether an agent speaking `languages` (empty: any) can take a handoff in `language`. */
function speaks(languages: string[], language: string | null): boolean {
  return language === null || languages.length === 0 || languages.includes(language);
}

/** A visitor's request to be called back. */
export interface Callback {
  id: string;
  conversationId: string;
  contactKind: 'phone' | 'email';
  contact: string;
  note: string | null;
  status: 'open' | 'done';
  createdAt: string;
  doneAt: string | null;
  doneBy: string | null;
}

export { ASSIGNMENT_STRATEGIES, type AssignmentStrategy } from '../domain/settings.js';

/** Why an accept or reply was refused. */
export type HandoffRefusal = 'not_found' | 'taken' | 'closed' | 'not_yours';

/**
 * The handoff queue and the agents, in Postgres (the hitl service's tables).
 * Every statement names the tenant. State changes are single conditional
 * updates, so two agents accepting at once: exactly one row changes.
 */
export class HandoffStore {
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
          returning ${COLUMNS}`,
        [tenantId, agentId],
      );
    });
    return result ? result.map(toHandoff) : null;
  }

  async tenantExists(tenantId: string): Promise<boolean> {
    const rows = await this.db.read('select 1 from tenants where id = $1', [tenantId], 'primary');
    return rows.length > 0;
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

  /**
   * Queues a handoff for a conversation, once per `handoff.requested` event;
   * while one is open for the conversation, that one is returned instead.
   */
  async enqueue(input: {
    tenantId: string;
    id: string;
    conversationId: string;
    reason: string;
    eventId: string;
    requestedAt: Date;
    queue?: string;
    language?: string | null;
    priority?: number;
  }): Promise<{ handoff: Handoff; created: boolean }> {
    const { result } = await this.db.transaction(async (tx) => {
      const [inserted] = await tx.query<HandoffRow>(
        `insert into handoffs (tenant_id, id, conversation_id, reason, queue, priority, event_id,
                               requested_at, language)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict do nothing
         returning ${COLUMNS}`,
        [
          input.tenantId,
          input.id,
          input.conversationId,
          input.reason,
          input.queue ?? 'general',
          input.priority ?? 0,
          input.eventId,
          input.requestedAt,
          input.language ?? null,
        ],
      );
      if (inserted) return { handoff: toHandoff(inserted), created: true };
      const [open] = await tx.query<HandoffRow>(
        `select ${COLUMNS} from handoffs
          where tenant_id = $1 and (event_id = $2 or (conversation_id = $3 and status <> 'closed'))
          order by requested_at desc limit 1`,
        [input.tenantId, input.eventId, input.conversationId],
      );
      return { handoff: toHandoff(open!), created: false };
    });
    return result;
  }

  /** The tenant's waiting handoffs, next first (priority, then oldest), with positions in their queue and language. */
  async queued(
    tenantId: string,
    consistency: ReadConsistency = 'primary',
  ): Promise<QueuedHandoff[]> {
    const rows = await this.db.read<HandoffRow>(
      `select ${COLUMNS} from handoffs where tenant_id = $1 and status = 'queued'
        order by priority desc, requested_at, id limit 500`,
      [tenantId],
      consistency,
    );
    const seen = new Map<string, number>();
    return rows.map((row) => {
      const key = `${row.queue}\u0000${row.language ?? ''}`;
      const position = (seen.get(key) ?? 0) + 1;
      seen.set(key, position);
      return { ...toHandoff(row), position };
    });
  }

  /** The tenant's handoff settings (`{}` when it set none or is unknown). */
  async settings(tenantId: string): Promise<HitlSettings> {
    const [row] = await this.db.read<{ hitl_settings: unknown }>(
      'select hitl_settings from tenants where id = $1',
      [tenantId],
      'primary',
    );
    // Validated on write; a row edited by hand that no longer parses falls back to the defaults.
    const parsed = hitlSettingsSchema.safeParse(row?.hitl_settings ?? {});
    return parsed.success ? parsed.data : {};
  }

  /** Replaces the tenant's handoff settings (validated); false when there is no such tenant. */
  async setSettings(tenantId: string, settings: HitlSettings): Promise<boolean> {
    const { result } = await this.db.transaction((tx) =>
      tx.query('update tenants set hitl_settings = $2::jsonb where id = $1 returning id', [
        tenantId,
        JSON.stringify(hitlSettingsSchema.parse(settings)),
      ]),
    );
    return result.length > 0;
  }

  /** The tenant's assignment strategy ('pooled' unless it chose another). */
  async strategy(tenantId: string): Promise<AssignmentStrategy> {
    return (await this.settings(tenantId)).assignment ?? 'pooled';
  }

  async setStrategy(tenantId: string, strategy: AssignmentStrategy): Promise<void> {
    await this.setSettings(tenantId, { ...(await this.settings(tenantId)), assignment: strategy });
  }

  /**
   * Gives the next waiting handoff (highest priority, then oldest) to a
   * present agent with free capacity, chosen by the strategy: `least_busy`
   * (fewest conversations held), `round_robin` (longest since their last
   * assignment), `skills` (the queue is `general` or one of the agent's
   * skills; then least busy). Whatever the strategy, a handoff in a language
   * goes only to an agent who speaks it. One transaction with row locks, so dispatchers
   * running at once never over-fill an agent or assign twice. Null when
   * nothing or nobody is free.
   */
  async dispatchNext(
    tenantId: string,
    strategy: Exclude<AssignmentStrategy, 'pooled'>,
    presentWithinMs = 45_000,
  ): Promise<{ handoff: Handoff; agent: Agent } | null> {
    const { result } = await this.db.transaction(async (tx) => {
      const agents = await tx.query<
        AgentRow & { held: number | string; last_assigned_at: Date | string | null }
      >(
        `select a.id, a.email, a.name, a.max_concurrent, a.skills, a.languages, a.last_assigned_at,
                (select count(*) from handoffs h
                  where h.tenant_id = a.tenant_id and h.agent_id = a.id and h.status = 'assigned') as held
           from agents a
          where a.tenant_id = $1 and a.disabled_at is null
            and a.last_seen_at > now() - ($2::double precision * interval '1 millisecond')
          order by a.id
          for update of a`,
        [tenantId, presentWithinMs],
      );
      const free = agents.filter((a) => Number(a.held) < a.max_concurrent);
      if (free.length === 0) return null;
      const waiting = await tx.query<HandoffRow>(
        `select ${COLUMNS} from handoffs where tenant_id = $1 and status = 'queued'
          order by priority desc, requested_at, id
          for update skip locked limit 50`,
        [tenantId],
      );
      for (const row of waiting) {
        const eligible = free.filter(
          (a) =>
            speaks(a.languages, row.language) &&
            (strategy !== 'skills' || row.queue === 'general' || a.skills.includes(row.queue)),
        );
        if (eligible.length === 0) continue;
        const time = (v: Date | string | null) => (v === null ? 0 : new Date(v).getTime());
        const chosen = [...eligible].sort((x, y) =>
          strategy === 'round_robin'
            ? time(x.last_assigned_at) - time(y.last_assigned_at) || x.id.localeCompare(y.id)
            : Number(x.held) - Number(y.held) ||
              time(x.last_assigned_at) - time(y.last_assigned_at) ||
              x.id.localeCompare(y.id),
        )[0]!;
        const [assigned] = await tx.query<HandoffRow>(
          `update handoffs set status = 'assigned', agent_id = $3, assigned_at = now()
            where tenant_id = $1 and id = $2 and status = 'queued'
            returning ${COLUMNS}`,
          [tenantId, row.id, chosen.id],
        );
        await tx.query(
          'update agents set last_assigned_at = clock_timestamp() where tenant_id = $1 and id = $2',
          [tenantId, chosen.id],
        );
        return { handoff: toHandoff(assigned!), agent: toAgent(tenantId, chosen) };
      }
      return null;
    });
    return result;
  }

  /** Tenants with waiting handoffs (for the dispatcher's sweep). */
  async tenantsWaiting(): Promise<string[]> {
    const rows = await this.db.read<{ tenant_id: string }>(
      `select distinct tenant_id from handoffs where status = 'queued' limit 1000`,
      [],
      'primary',
    );
    return rows.map((r) => r.tenant_id);
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

  /** Puts an assigned handoff back in the queue (an assignment whose announcement failed). */
  async requeue(tenantId: string, id: string): Promise<void> {
    await this.db.transaction((tx) =>
      tx.query(
        `update handoffs set status = 'queued', agent_id = null, assigned_at = null
          where tenant_id = $1 and id = $2 and status = 'assigned'`,
        [tenantId, id],
      ),
    );
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

  /** Stores a callback request once per event; returns its ticket. */
  async saveCallback(input: {
    tenantId: string;
    id: string;
    conversationId: string;
    contactKind: 'phone' | 'email';
    contact: string;
    note?: string;
    eventId: string;
  }): Promise<{ callback: Callback; created: boolean }> {
    const { result } = await this.db.transaction(async (tx) => {
      const [inserted] = await tx.query<CallbackRow>(
        `insert into callbacks (tenant_id, id, conversation_id, contact_kind, contact, note, event_id)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing
         returning ${CALLBACK_COLUMNS}`,
        [
          input.tenantId,
          input.id,
          input.conversationId,
          input.contactKind,
          input.contact,
          input.note ?? null,
          input.eventId,
        ],
      );
      if (inserted) return { callback: toCallback(inserted), created: true };
      const [existing] = await tx.query<CallbackRow>(
        `select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and event_id = $2`,
        [input.tenantId, input.eventId],
      );
      return { callback: toCallback(existing!), created: false };
    });
    return result;
  }

  /** The tenant's callback list: open ones first, oldest first, then the latest done. */
  async callbacks(tenantId: string): Promise<Callback[]> {
    const rows = await this.db.read<CallbackRow>(
      `(select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and status = 'open'
         order by created_at limit 200)
       union all
       (select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and status = 'done'
         order by done_at desc limit 50)`,
      [tenantId],
      'primary',
    );
    return rows.map(toCallback);
  }

  /** Marks a callback done by the agent; null when the tenant has no such callback. */
  async completeCallback(tenantId: string, id: string, agentId: string): Promise<Callback | null> {
    const { result } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<CallbackRow>(
        `update callbacks set status = 'done', done_at = coalesce(done_at, now()),
                done_by = coalesce(done_by, $3)
          where tenant_id = $1 and id = $2
          returning ${CALLBACK_COLUMNS}`,
        [tenantId, id, agentId],
      );
      return row ? toCallback(row) : null;
    });
    return result;
  }

  /** The median wait (seconds) of the tenant's last 20 accepted handoffs of the day, or null. */
  async recentWaitSeconds(tenantId: string): Promise<number | null> {
    const [row] = await this.db.read<{ median: number | string | null }>(
      `select percentile_cont(0.5) within group (order by wait) as median from (
         select extract(epoch from (assigned_at - requested_at)) as wait from handoffs
          where tenant_id = $1 and assigned_at is not null and assigned_at > now() - interval '1 day'
          order by assigned_at desc limit 20) recent`,
      [tenantId],
      'primary',
    );
    return row?.median === null || row?.median === undefined
      ? null
      : Math.round(Number(row.median));
  }

  /** Waiting handoffs and the oldest wait (seconds) per queue and language, across tenants (metrics). */
  async queueSizes(): Promise<
    Array<{ queue: string; language: string; size: number; oldestSeconds: number }>
  > {
    const rows = await this.db.read<{
      queue: string;
      language: string;
      size: number | string;
      oldest: number | string;
    }>(
      `select queue, coalesce(language, 'any') as language, count(*) as size,
              extract(epoch from (now() - min(requested_at))) as oldest
         from handoffs where status = 'queued' group by 1, 2`,
      [],
      'primary',
    );
    return rows.map((r) => ({
      queue: r.queue,
      language: r.language,
      size: Number(r.size),
      oldestSeconds: Number(r.oldest),
    }));
  }

  /** The handoffs an agent holds now. */
  async assignedTo(tenantId: string, agentId: string): Promise<Handoff[]> {
    const rows = await this.db.read<HandoffRow>(
      `select ${COLUMNS} from handoffs where tenant_id = $1 and agent_id = $2 and status = 'assigned'
        order by assigned_at`,
      [tenantId, agentId],
      'primary',
    );
    return rows.map(toHandoff);
  }

  async handoff(tenantId: string, id: string): Promise<Handoff | null> {
    const [row] = await this.db.read<HandoffRow>(
      `select ${COLUMNS} from handoffs where tenant_id = $1 and id = $2`,
      [tenantId, id],
      'primary',
    );
    return row ? toHandoff(row) : null;
  }

  /** The conversation's open handoff, if any. */
  async openFor(tenantId: string, conversationId: string): Promise<Handoff | null> {
    const [row] = await this.db.read<HandoffRow>(
      `select ${COLUMNS} from handoffs
        where tenant_id = $1 and conversation_id = $2 and status <> 'closed'`,
      [tenantId, conversationId],
      'primary',
    );
    return row ? toHandoff(row) : null;
  }

  /**
   * Gives a waiting handoff to the agent: one conditional update, so of two
   * agents accepting at once exactly one wins. Accepting again is a no-op.
   */
  async accept(
    tenantId: string,
    id: string,
    agentId: string,
  ): Promise<{ handoff: Handoff; changed: boolean } | HandoffRefusal> {
    const { result } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<HandoffRow>(
        `update handoffs set status = 'assigned', agent_id = $3, assigned_at = now()
          where tenant_id = $1 and id = $2 and status = 'queued'
          returning ${COLUMNS}`,
        [tenantId, id, agentId],
      );
      if (row) return { handoff: toHandoff(row), changed: true };
      const now = await current(tx, tenantId, id);
      if (!now) return 'not_found' as const;
      if (now.status === 'closed') return 'closed' as const;
      if (now.agent_id === agentId) return { handoff: toHandoff(now), changed: false };
      return 'taken' as const;
    });
    return result;
  }

  /** Notes that the holding agent replied (stops the no-reply timer). */
  async agentReplied(tenantId: string, id: string, agentId: string): Promise<void> {
    await this.db.transaction((tx) =>
      tx.query(
        `update handoffs set last_agent_reply_at = now()
          where tenant_id = $1 and id = $2 and agent_id = $3 and status = 'assigned'`,
        [tenantId, id, agentId],
      ),
    );
  }

  /**
   * Moves a handoff the agent holds to another agent of the tenant, or back
   * to a queue (keeping its place: the request time stays).
   */
  async transfer(
    tenantId: string,
    id: string,
    fromAgentId: string,
    to: { agentId: string } | { queue: string },
  ): Promise<Handoff | HandoffRefusal> {
    const { result } = await this.db.transaction(async (tx) => {
      if ('agentId' in to) {
        const [target] = await tx.query('select 1 from agents where tenant_id = $1 and id = $2', [
          tenantId,
          to.agentId,
        ]);
        if (!target) return 'not_found' as const;
      }
      const [row] = await tx.query<HandoffRow>(
        'agentId' in to
          ? `update handoffs set agent_id = $4, assigned_at = now(), last_agent_reply_at = null
              where tenant_id = $1 and id = $2 and status = 'assigned' and agent_id = $3
              returning ${COLUMNS}`
          : `update handoffs set status = 'queued', agent_id = null, assigned_at = null,
                    last_agent_reply_at = null, queue = $4
              where tenant_id = $1 and id = $2 and status = 'assigned' and agent_id = $3
              returning ${COLUMNS}`,
        [tenantId, id, fromAgentId, 'agentId' in to ? to.agentId : to.queue],
      );
      if (row) return toHandoff(row);
      const now = await current(tx, tenantId, id);
      if (!now) return 'not_found' as const;
      if (now.status === 'closed') return 'closed' as const;
      return 'not_yours' as const;
    });
    return result;
  }

  /**
   * Puts back in the queue every assignment whose agent has not replied
   * within `timeoutMs` (across tenants; each row changes once, so replicas
   * can sweep at the same time). Returns them with the agent they had.
   */
  async requeueUnanswered(
    timeoutMs: number,
  ): Promise<Array<Handoff & { previousAgentId: string }>> {
    const { result } = await this.db.transaction((tx) =>
      tx.query<HandoffRow & { previous_agent_id: string }>(
        `update handoffs h set status = 'queued', agent_id = null, assigned_at = null,
                priority = h.priority + 20
           from (select tenant_id, id, agent_id from handoffs
                  where status = 'assigned' and last_agent_reply_at is null
                    and assigned_at < now() - ($1::double precision * interval '1 millisecond')
                  for update skip locked limit 100) old
          where h.tenant_id = old.tenant_id and h.id = old.id
          returning ${COLUMNS.replace(/(\w+)/g, 'h.$1')}, old.agent_id as previous_agent_id`,
        [timeoutMs],
      ),
    );
    return result.map((row) => ({ ...toHandoff(row), previousAgentId: row.previous_agent_id }));
  }

  /**
   * Escalates, once, every handoff that has waited longer than `slaMs`:
   * its priority goes up by `bump` so it moves ahead. Returns them.
   */
  async escalateOverdue(slaMs: number, bump = 50): Promise<Handoff[]> {
    const { result } = await this.db.transaction((tx) =>
      tx.query<HandoffRow>(
        `update handoffs set escalated_at = now(), priority = priority + $2
          where (tenant_id, id) in (
            select tenant_id, id from handoffs
             where status = 'queued' and escalated_at is null
               and requested_at < now() - ($1::double precision * interval '1 millisecond')
             for update skip locked limit 100)
          returning ${COLUMNS}`,
        [slaMs, bump],
      ),
    );
    return result.map(toHandoff);
  }

  /** Closes a handoff the agent holds (or, `returned`, one still waiting). */
  async close(
    tenantId: string,
    id: string,
    agentId: string,
  ): Promise<{ handoff: Handoff; changed: boolean } | HandoffRefusal> {
    const { result } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<HandoffRow>(
        `update handoffs set status = 'closed', closed_at = now(),
                agent_id = coalesce(agent_id, $3)
          where tenant_id = $1 and id = $2 and status <> 'closed'
            and (agent_id = $3 or status = 'queued')
          returning ${COLUMNS}`,
        [tenantId, id, agentId],
      );
      if (row) return { handoff: toHandoff(row), changed: true };
      const now = await current(tx, tenantId, id);
      if (!now) return 'not_found' as const;
      if (now.status === 'closed') return { handoff: toHandoff(now), changed: false };
      return 'not_yours' as const;
    });
    return result;
  }
}

interface CallbackRow {
  id: string;
  conversation_id: string;
  contact_kind: 'phone' | 'email';
  contact: string;
  note: string | null;
  status: 'open' | 'done';
  created_at: Date | string;
  done_at: Date | string | null;
  done_by: string | null;
}

const CALLBACK_COLUMNS =
  'id, conversation_id, contact_kind, contact, note, status, created_at, done_at, done_by';

function toCallback(row: CallbackRow): Callback {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    contactKind: row.contact_kind,
    contact: row.contact,
    note: row.note,
    status: row.status,
    createdAt: iso(row.created_at)!,
    doneAt: iso(row.done_at),
    doneBy: row.done_by,
  };
}

/** A handoff as it is now, inside a transaction: why a conditional update changed nothing. */
async function current(
  tx: SqlTransaction,
  tenantId: string,
  id: string,
): Promise<HandoffRow | undefined> {
  const [row] = await tx.query<HandoffRow>(
    `select ${COLUMNS} from handoffs where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return row;
}

function iso(value: Date | string | null): string | null {
  return value === null ? null : (value instanceof Date ? value : new Date(value)).toISOString();
}

function toHandoff(row: HandoffRow): Handoff {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    conversationId: row.conversation_id,
    reason: row.reason,
    queue: row.queue,
    language: row.language ?? null,
    priority: Number(row.priority),
    status: row.status,
    agentId: row.agent_id,
    requestedAt: iso(row.requested_at)!,
    assignedAt: iso(row.assigned_at),
    closedAt: iso(row.closed_at),
    escalatedAt: iso(row.escalated_at ?? null),
  };
}
