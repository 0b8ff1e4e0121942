/**
 * The integrity checks: the design's daily and weekly checks (sequence gaps,
 * orphaned messages, conversation counts, every action has a logged result;
 * docs/design/README.md#integrity-checks), adapted to Parley's schema, and
 * some of Parley's own. Each is one read-only query whose rows are findings:
 * zero rows means the check passed. Every query is bounded (`limit`), and
 * names the tenant of each finding so that an operator can act on it.
 */
export interface IntegrityCheck {
  name: string;
  /** critical: data is lost or wrong; warning: something to look at. */
  severity: 'critical' | 'warning';
  description: string;
  /** A read-only query returning one row per finding (at most `$1` rows). */
  sql: string;
}

export const CHECKS: readonly IntegrityCheck[] = [
  {
    name: 'message_sequence_gaps',
    severity: 'critical',
    description: "a conversation's messages are numbered 1..n without gaps",
    sql: `select tenant_id, conversation_id, count(*) as messages, min(seq) as first_seq, max(seq) as last_seq
            from messages group by tenant_id, conversation_id
           having count(*) <> max(seq) or min(seq) <> 1
           order by tenant_id, conversation_id limit $1`,
  },
  {
    name: 'orphaned_messages',
    severity: 'critical',
    description: 'every message belongs to a conversation of its tenant',
    sql: `select m.tenant_id, m.conversation_id, m.seq from messages m
           where not exists (select 1 from conversations c where c.tenant_id = m.tenant_id and c.id = m.conversation_id)
           order by 1, 2, 3 limit $1`,
  },
  {
    name: 'conversation_last_seq',
    severity: 'critical',
    description: "a conversation's last sequence number is its newest message's",
    sql: `select c.tenant_id, c.id as conversation_id, c.last_seq, coalesce(max(m.seq), 0) as newest
            from conversations c left join messages m on m.tenant_id = c.tenant_id and m.conversation_id = c.id
           group by c.tenant_id, c.id, c.last_seq
          having c.last_seq <> coalesce(max(m.seq), 0)
           order by 1, 2 limit $1`,
  },
  {
    // The design compares with an analytics count; Parley has no analytics store, so each day's
    // new conversations are compared with the first messages stored that day (created together).
    name: 'conversation_count_match',
    severity: 'warning',
    description: "each of the last 7 days' new conversations match that day's first messages",
    sql: `with days as (select generate_series(current_date - 7, current_date - 1, interval '1 day')::date as day),
               started as (select created_at::date as day, count(*) as n from conversations
                            where created_at >= current_date - 7 and created_at < current_date group by 1),
               firsts as (select created_at::date as day, count(*) as n from messages
                           where seq = 1 and created_at >= current_date - 7 and created_at < current_date group by 1)
          select d.day, coalesce(s.n, 0) as conversations, coalesce(f.n, 0) as first_messages
            from days d left join started s using (day) left join firsts f using (day)
           where coalesce(s.n, 0) <> coalesce(f.n, 0) order by 1 limit $1`,
  },
  {
    // The design's weekly "every action has a logged result", for Parley's actions: every user
    // message is answered (the assistant's reply:<seq>, or a person or system message after it)
    // unless a person holds or was asked for the conversation.
    name: 'unanswered_messages',
    severity: 'warning',
    description: "a user message older than 10 minutes has an answer or a person's attention",
    sql: `select m.tenant_id, m.conversation_id, m.seq from messages m
            join conversations c on c.tenant_id = m.tenant_id and c.id = m.conversation_id
           where m.role = 'user' and m.created_at < now() - interval '10 minutes'
             and c.handler = 'bot' and c.handoff = 'none'
             and not exists (select 1 from messages a where a.tenant_id = m.tenant_id
                               and a.conversation_id = m.conversation_id and a.seq > m.seq and a.role <> 'user')
             and not exists (select 1 from handoffs h where h.tenant_id = m.tenant_id
                               and h.conversation_id = m.conversation_id)
           order by 1, 2, 3 limit $1`,
  },
  {
    name: 'handoffs_held_across_tenants',
    severity: 'critical',
    description: "a handoff is held only by an agent of the conversation's tenant",
    sql: `select h.tenant_id, h.id as handoff_id, h.agent_id from handoffs h
           where h.agent_id is not null
             and not exists (select 1 from agents a where a.tenant_id = h.tenant_id and a.id = h.agent_id)
           order by 1, 2 limit $1`,
  },
  {
    name: 'conversation_state_agrees_with_handoffs',
    severity: 'warning',
    description: 'a conversation held by an agent has an open handoff',
    sql: `select c.tenant_id, c.id as conversation_id, c.handler from conversations c
           where c.handler = 'agent'
             and not exists (select 1 from handoffs h where h.tenant_id = c.tenant_id
                               and h.conversation_id = c.id and h.status <> 'closed')
           order by 1, 2 limit $1`,
  },
  {
    name: 'knowledge_documents_without_chunks',
    severity: 'warning',
    description: 'a document marked ready has its chunks',
    sql: `select d.tenant_id, d.id as document_id from knowledge_documents d
           where d.status = 'ready'
             and not exists (select 1 from knowledge_chunks k where k.tenant_id = d.tenant_id and k.document_id = d.id)
           order by 1, 2 limit $1`,
  },
];
