-- Tenants, their widget keys, conversations and messages.
-- Every table carries tenant_id and every key starts with it: no query can
-- reach another tenant's rows without naming that tenant.

create table tenants (
  id               text primary key,
  name             text not null,
  -- Public key embedded in the tenant's web pages; not a secret.
  widget_key       text not null unique,
  allowed_origins  text[] not null,
  created_at       timestamptz not null default now()
);

create table conversations (
  tenant_id   text not null references tenants (id),
  id          text not null,
  visitor_id  text not null,
  channel     text not null check (channel in ('web', 'voice')),
  status      text not null default 'open' check (status in ('open', 'resolved')),
  handler     text not null default 'bot' check (handler in ('bot', 'agent')),
  handoff     text not null default 'none' check (handoff in ('none', 'waiting')),
  -- The newest message's sequence number; incremented under the row lock.
  last_seq    bigint not null default 0,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  primary key (tenant_id, id)
);

create index conversations_by_visitor on conversations (tenant_id, visitor_id, updated_at desc);

create table messages (
  tenant_id          text not null,
  conversation_id    text not null,
  seq                bigint not null,
  id                 text not null,
  role               text not null check (role in ('user', 'assistant', 'agent', 'system')),
  -- The client's id for user messages; `reply:<seq>` for the bot's answer to <seq>.
  client_message_id  text not null,
  text               text not null,
  event_id           text not null,
  reply_to_seq       bigint,
  -- When the gateway accepted the user message this is or answers.
  received_at        timestamptz not null,
  created_at         timestamptz not null default now(),
  primary key (tenant_id, conversation_id, seq),
  unique (tenant_id, conversation_id, client_message_id),
  unique (event_id),
  foreign key (tenant_id, conversation_id) references conversations (tenant_id, id)
);
