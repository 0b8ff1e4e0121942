-- Conversations whose channel closed for good (a phone call hung up): a
-- handoff still open for one ends with it, and a handoff.requested that
-- arrives after the end (the assistant asked for a person as the caller hung
-- up) is not queued. Kept a day, long past any such race; the sweeper prunes.
create table conversation_endings (
  tenant_id        text not null,
  conversation_id  text not null,
  ended_at         timestamptz not null default now(),
  primary key (tenant_id, conversation_id)
);
create index conversation_endings_ended_at on conversation_endings (ended_at);
