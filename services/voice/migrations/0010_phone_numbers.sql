-- Phone numbers: which tenant a called number belongs to (the voice service's
-- webhook looks the called number up here). Operators attach numbers through
-- the voice service's admin API; a number belongs to one tenant at most.
create table phone_numbers (
  number      text primary key check (number ~ '^\+[1-9][0-9]{6,14}$'),
  tenant_id   text not null references tenants (id) on delete cascade,
  created_at  timestamptz not null default now()
);
create index phone_numbers_by_tenant on phone_numbers (tenant_id, number);
