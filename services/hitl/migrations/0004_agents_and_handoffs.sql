-- Human agents and the handoff queue (the hitl service owns these tables).
-- As everywhere, every key starts with tenant_id.

create table agents (
  tenant_id       text not null references tenants (id),
  id              text not null,
  email           text not null,
  name            text not null,
  -- scrypt (memory-hard): "scrypt$N$r$p$salt$hash", base64url parts.
  password_hash   text not null,
  max_concurrent  integer not null default 3 check (max_concurrent between 1 and 50),
  created_at      timestamptz not null default now(),
  primary key (tenant_id, id),
  unique (tenant_id, email)
);

create table handoffs (
  tenant_id        text not null,
  id               text not null,
  conversation_id  text not null,
  reason           text not null,
  queue            text not null default 'general',
  priority         integer not null default 0,
  status           text not null default 'queued' check (status in ('queued', 'assigned', 'closed')),
  agent_id         text,
  -- The handoff.requested event that opened it: a redelivery opens nothing new.
  event_id         text not null unique,
  requested_at     timestamptz not null,
  assigned_at      timestamptz,
  closed_at        timestamptz,
  primary key (tenant_id, id),
  foreign key (tenant_id, conversation_id) references conversations (tenant_id, id),
  foreign key (tenant_id, agent_id) references agents (tenant_id, id)
);

-- At most one open handoff per conversation.
create unique index handoffs_one_open on handoffs (tenant_id, conversation_id) where status <> 'closed';
-- The queue, oldest first within a priority.
create index handoffs_waiting on handoffs (tenant_id, queue, priority desc, requested_at) where status = 'queued';
create index handoffs_by_agent on handoffs (tenant_id, agent_id) where status = 'assigned';
