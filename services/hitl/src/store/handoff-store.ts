import type { ReadConsistency, SqlDatabase, SqlTransaction } from '@parley/ports';
import type { AssignmentStrategy } from '../domain/settings.js';
import {
  HANDOFF_COLUMNS,
  toAgent,
  toHandoff,
  type Agent,
  type AgentRow,
  type Handoff,
  type HandoffRow,
} from './rows.js';

/** A waiting handoff and its place in its queue (1 = next). */
export interface QueuedHandoff extends Handoff {
  position: number;
}

/** Why an accept or reply was refused. */
export type HandoffRefusal = 'not_found' | 'taken' | 'closed' | 'not_yours';

/**
 * The handoff queue, in Postgres (`handoffs`; dispatch also locks and stamps
 * the present agents in `agents`). Every statement names the tenant, but for
 * the sweeps and metrics that run across tenants. State changes are single
 * conditional updates, so two agents accepting at once: exactly one row changes.
 */
export class HandoffStore {
  constructor(private readonly db: SqlDatabase) {}

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
         returning ${HANDOFF_COLUMNS}`,
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
        `select ${HANDOFF_COLUMNS} from handoffs
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
      `select ${HANDOFF_COLUMNS} from handoffs where tenant_id = $1 and status = 'queued'
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
        `select ${HANDOFF_COLUMNS} from handoffs where tenant_id = $1 and status = 'queued'
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
            returning ${HANDOFF_COLUMNS}`,
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
  async queueSizes(
    region?: string,
  ): Promise<Array<{ queue: string; language: string; size: number; oldestSeconds: number }>> {
    // With regions, each counts the conversations whose visitor it serves
    // (and those of no known region), so that its HPA scales on its own work.
    const rows = await this.db.read<{
      queue: string;
      language: string;
      size: number | string;
      oldest: number | string;
    }>(
      region
        ? `select h.queue, coalesce(h.language, 'any') as language, count(*) as size,
                  extract(epoch from (now() - min(h.requested_at))) as oldest
             from handoffs h
             join conversations c on c.tenant_id = h.tenant_id and c.id = h.conversation_id
            where h.status = 'queued' and (c.home_region = $1 or c.home_region is null)
            group by 1, 2`
        : `select queue, coalesce(language, 'any') as language, count(*) as size,
                  extract(epoch from (now() - min(requested_at))) as oldest
             from handoffs where status = 'queued' group by 1, 2`,
      region ? [region] : [],
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
      `select ${HANDOFF_COLUMNS} from handoffs where tenant_id = $1 and agent_id = $2 and status = 'assigned'
        order by assigned_at`,
      [tenantId, agentId],
      'primary',
    );
    return rows.map(toHandoff);
  }

  async handoff(tenantId: string, id: string): Promise<Handoff | null> {
    const [row] = await this.db.read<HandoffRow>(
      `select ${HANDOFF_COLUMNS} from handoffs where tenant_id = $1 and id = $2`,
      [tenantId, id],
      'primary',
    );
    return row ? toHandoff(row) : null;
  }

  /**
   * The conversation's channel closed for good (a phone call hung up): the
   * end is recorded, and its open handoff, waiting or held, is closed.
   * Returns the handoff it closed (`agentId`: who held it), if any.
   */
  async endConversation(tenantId: string, conversationId: string): Promise<Handoff | null> {
    const { result } = await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into conversation_endings (tenant_id, conversation_id) values ($1, $2)
         on conflict do nothing`,
        [tenantId, conversationId],
      );
      const [row] = await tx.query<HandoffRow>(
        `update handoffs set status = 'closed', closed_at = now()
          where tenant_id = $1 and conversation_id = $2 and status <> 'closed'
          returning ${HANDOFF_COLUMNS}`,
        [tenantId, conversationId],
      );
      return row ? toHandoff(row) : null;
    });
    return result;
  }

  /** Whether the conversation's channel closed for good ({@link endConversation}). */
  async ended(tenantId: string, conversationId: string): Promise<boolean> {
    const rows = await this.db.read(
      `select 1 from conversation_endings where tenant_id = $1 and conversation_id = $2`,
      [tenantId, conversationId],
      'primary',
    );
    return rows.length > 0;
  }

  /** Forgets ends older than `olderThanMs`: they only guard a handoff requested as the call ended. */
  async pruneEndings(olderThanMs: number): Promise<number> {
    const { result } = await this.db.transaction((tx) =>
      tx.query(
        `delete from conversation_endings
          where ended_at < now() - ($1::double precision * interval '1 millisecond') returning 1`,
        [olderThanMs],
      ),
    );
    return result.length;
  }

  /** The conversation's open handoff, if any. */
  async openFor(tenantId: string, conversationId: string): Promise<Handoff | null> {
    const [row] = await this.db.read<HandoffRow>(
      `select ${HANDOFF_COLUMNS} from handoffs
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
          returning ${HANDOFF_COLUMNS}`,
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
              returning ${HANDOFF_COLUMNS}`
          : `update handoffs set status = 'queued', agent_id = null, assigned_at = null,
                    last_agent_reply_at = null, queue = $4
              where tenant_id = $1 and id = $2 and status = 'assigned' and agent_id = $3
              returning ${HANDOFF_COLUMNS}`,
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
          returning ${HANDOFF_COLUMNS.replace(/(\w+)/g, 'h.$1')}, old.agent_id as previous_agent_id`,
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
          returning ${HANDOFF_COLUMNS}`,
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
          returning ${HANDOFF_COLUMNS}`,
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

/** Whether an agent speaking `languages` (empty: any) can take a handoff in `language`. */
function speaks(languages: string[], language: string | null): boolean {
  return language === null || languages.length === 0 || languages.includes(language);
}

/** A handoff as it is now, inside a transaction: why a conditional update changed nothing. */
async function current(
  tx: SqlTransaction,
  tenantId: string,
  id: string,
): Promise<HandoffRow | undefined> {
  const [row] = await tx.query<HandoffRow>(
    `select ${HANDOFF_COLUMNS} from handoffs where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return row;
}
