-- A tenant's own AI settings (budget, provider weights, time limits, tools),
-- validated by @parley/contracts' tenantAiSettingsSchema; '{}' uses the AI service's defaults.
alter table tenants add column ai_settings jsonb not null default '{}'::jsonb;
