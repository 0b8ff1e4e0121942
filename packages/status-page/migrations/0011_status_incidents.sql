-- Status-page incidents (the gateway's /status page and its operators' API).
-- Platform-wide, not per tenant: an incident describes Parley's own service,
-- is posted by an operator and shown to every visitor of the status page, so
-- these tables have no tenant_id and hold no tenant's data (only the
-- operator's title, component names and the playbook's rendered texts). They
-- are not part of a tenant's export.
create table status_incidents (
  id           text primary key check (id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  title        text not null check (char_length(title) between 1 and 200),
  status       text not null check (status in ('investigating', 'identified', 'monitoring', 'resolved')),
  components   text[] not null default '{}',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  resolved_at  timestamptz,
  check ((status = 'resolved') = (resolved_at is not null))
);
-- The page lists open incidents and those resolved recently, newest first.
create index status_incidents_recent on status_incidents (created_at desc);

-- Each incident's timeline: one row per posted text, numbered from 1.
create table status_incident_updates (
  incident_id  text not null references status_incidents (id) on delete cascade,
  seq          integer not null check (seq >= 1),
  template     text not null check (template in ('investigating', 'update', 'resolved')),
  status       text not null check (status in ('investigating', 'identified', 'monitoring', 'resolved')),
  body         text not null check (char_length(body) between 1 and 4000),
  created_at   timestamptz not null default now(),
  primary key (incident_id, seq)
);
