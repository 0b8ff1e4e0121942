-- Timers of a handoff: when its agent last replied (an assignment without a
-- reply goes back to the queue after a while) and when it was escalated for
-- waiting too long (once).
alter table handoffs add column last_agent_reply_at timestamptz;
alter table handoffs add column escalated_at timestamptz;
