-- Tenant ids are parts of Redis keys and channels, which ':' separates: a new
-- or renamed tenant's id is 1 to 128 letters, digits, '.', '_' or '-',
-- starting with a letter or digit (tenantIdSchema in @parley/contracts).
-- NOT VALID: rows from before stay as they are; Redis keys escape ':' anyway.
alter table tenants
  add constraint tenants_id_format
  check (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$') not valid;
