-- Agent presence (a console connected within the last minute) and the callback
-- queue: a visitor who could not reach a person leaves a phone number or an
-- e-mail address, and agents work the list later.
alter table agents add column last_seen_at timestamptz;

create table callbacks (
  tenant_id        text not null,
  id               text not null,
  conversation_id  text not null,
  contact_kind     text not null check (contact_kind in ('phone', 'email')),
  -- Personal data: shown to the tenant's agents, never logged.
  contact          text not null,
  note             text,
  status           text not null default 'open' check (status in ('open', 'done')),
  event_id         text not null unique,
  created_at       timestamptz not null default now(),
  done_at          timestamptz,
  done_by          text,
  primary key (tenant_id, id),
  foreign key (tenant_id, conversation_id) references conversations (tenant_id, id)
);
create index callbacks_open on callbacks (tenant_id, created_at) where status = 'open';
