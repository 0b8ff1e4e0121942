/**
 * What the stores share: the agent and handoff records they return, and how
 * a row of `agents` or `handoffs` becomes one.
 */

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

/** A row of `handoffs`, as selected with {@link HANDOFF_COLUMNS}. */
export interface HandoffRow {
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

/** The `handoffs` columns a {@link Handoff} is made from. */
export const HANDOFF_COLUMNS = `tenant_id, id, conversation_id, reason, queue, language, priority, status,
                 agent_id, requested_at, assigned_at, closed_at, escalated_at`;

/** A row of `agents`, as selected with {@link AGENT_COLUMNS}. */
export interface AgentRow {
  id: string;
  email: string;
  name: string;
  max_concurrent: number;
  skills: string[];
  languages: string[];
}

/** The `agents` columns an {@link Agent} is made from. */
export const AGENT_COLUMNS = 'id, email, name, max_concurrent, skills, languages';

/** The agent a row of `agents` describes. */
export function toAgent(tenantId: string, row: AgentRow): Agent {
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

/** A timestamp column's value as an ISO 8601 string (null stays null). */
export function iso(value: Date | string | null): string | null {
  return value === null ? null : (value instanceof Date ? value : new Date(value)).toISOString();
}

/** The handoff a row of `handoffs` describes. */
export function toHandoff(row: HandoffRow): Handoff {
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
