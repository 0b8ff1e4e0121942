-- Who an end user in an emergency is told to contact (seed 004: emergency protocol).
alter table tenants add column emergency_contact text;
