-- Assignment: a tenant chooses how waiting handoffs reach agents ('pooled':
-- agents claim; 'round_robin', 'least_busy', 'skills': dispatched to present
-- agents with free capacity), and agents have skills (queue names they take).
alter table tenants add column hitl_settings jsonb not null default '{}'::jsonb;
alter table agents add column skills text[] not null default '{}';
alter table agents add column last_assigned_at timestamptz;
