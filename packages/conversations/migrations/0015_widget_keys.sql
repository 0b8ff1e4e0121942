-- A tenant's widget keys: more than one is live while a key is rotated, so
-- that pages still carrying the old key keep working until it is revoked.
-- tenants.widget_key stays the newest live key (the one the script tag shows).
create table widget_keys (
  key         text primary key,
  tenant_id   text not null references tenants (id),
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz
);

create index widget_keys_by_tenant on widget_keys (tenant_id);

insert into widget_keys (key, tenant_id, created_at)
  select widget_key, id, created_at from tenants;

-- An offboarded tenant (the admin API's DELETE): no widget key of it works
-- and the admin API no longer shows it; its conversations stay for export.
alter table tenants add column deleted_at timestamptz;
