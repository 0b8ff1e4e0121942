-- Language and identity. A conversation keeps the visitor's language (a
-- primary subtag such as 'de', from the widget) and, when the tenant's page
-- signed it with the tenant's identity secret, the tenant's own customer id
-- (VIP rules use it). Agents speak languages (empty: any); a handoff waits in
-- the queue of its skill and language. Operators can disable an agent.
alter table tenants add column identity_secret text;
alter table conversations add column language text;
alter table conversations add column customer_id text;
alter table agents add column languages text[] not null default '{}';
alter table agents add column disabled_at timestamptz;
alter table handoffs add column language text;
