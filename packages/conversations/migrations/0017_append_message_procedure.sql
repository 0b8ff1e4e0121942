-- 0016's function as a procedure that also commits and reports the write
-- position: one round trip where 0016 took two (the position was asked after).
drop function if exists parley_append_message(text, text, text, text, text, text, text, text, text,
  timestamptz, bigint, jsonb, text, text, text, text, text, text, integer);

-- Storing a message in one statement (ConversationStore.appendMessage): the
-- tenant check, the conversation's row (created on first use, then locked),
-- the owner and handler checks, the duplicate check, the next sequence number,
-- the message itself, the commit, and then the write position that reads of
-- it wait for, in one round trip instead of eleven. A procedure, so that it
-- can commit before it reads the position (call it outside a transaction).
-- The same rules as the statements it replaces; the caller turns `outcome`
-- into its errors:
--   created        stored now: `conversation` and `message` as stored
--   exists         stored before (same client id in the conversation, or same event): both as they are
--   unknown_tenant no such tenant
--   owner          a user message from another visitor than the conversation's
--   not_handler    `p_require_handler` does not hold the conversation: `conversation` as it is
-- With `created`, `history` holds the `p_history` messages before it, oldest
-- first: what the chat service sends the AI with a user message, without
-- reading back from a replica what it has just written.
create or replace procedure parley_append_message(
  p_tenant text,
  p_conversation text,
  p_visitor text,
  p_channel text,
  p_role text,
  p_message_id text,
  p_client_message_id text,
  p_event_id text,
  p_text text,
  p_received_at timestamptz,
  p_reply_to_seq bigint,
  p_sources jsonb,
  p_handler text,
  p_handoff text,
  p_language text,
  p_customer_id text,
  p_region text,
  p_require_handler text,
  p_history integer,
  inout outcome text,
  inout conversation jsonb,
  inout message jsonb,
  inout history jsonb,
  inout write_position text
) language plpgsql as $$
declare
  c conversations%rowtype;
  m messages%rowtype;
begin
  <<store>>
  begin
    perform 1 from tenants where id = p_tenant;
    if not found then
      outcome := 'unknown_tenant';
      exit store;
    end if;
    insert into conversations (tenant_id, id, visitor_id, channel)
      values (p_tenant, p_conversation, p_visitor, p_channel)
      on conflict do nothing;
    select * into c from conversations where tenant_id = p_tenant and id = p_conversation for update;
    if p_role = 'user' and c.visitor_id <> p_visitor then
      outcome := 'owner';
      exit store;
    end if;
    select * into m from messages
      where (tenant_id = p_tenant and conversation_id = p_conversation
             and client_message_id = p_client_message_id)
         or event_id = p_event_id
      limit 1;
    if found then
      outcome := 'exists';
      conversation := to_jsonb(c);
      message := to_jsonb(m);
      exit store;
    end if;
    if p_require_handler is not null and c.handler <> p_require_handler then
      outcome := 'not_handler';
      conversation := to_jsonb(c);
      exit store;
    end if;
    update conversations
       set last_seq = last_seq + 1,
           updated_at = now(),
           handler = coalesce(p_handler, handler),
           handoff = coalesce(p_handoff, handoff),
           language = coalesce(p_language, language),
           customer_id = coalesce(customer_id, p_customer_id),
           home_region = coalesce(case when p_role = 'user' then p_region end, home_region),
           status = case when p_role = 'user' then 'open' else status end
     where tenant_id = p_tenant and id = p_conversation
    returning * into c;
    insert into messages (tenant_id, conversation_id, seq, id, role, client_message_id, text,
                          event_id, reply_to_seq, received_at, sources)
    values (p_tenant, p_conversation, c.last_seq, p_message_id, p_role, p_client_message_id, p_text,
            p_event_id, p_reply_to_seq,
            coalesce((select received_at from messages
                       where tenant_id = p_tenant and conversation_id = p_conversation
                         and seq = p_reply_to_seq), p_received_at),
            p_sources)
    returning * into m;
    outcome := 'created';
    conversation := to_jsonb(c);
    message := to_jsonb(m);
    if p_history > 0 then
      select coalesce(jsonb_agg(to_jsonb(h) order by h.seq), '[]'::jsonb) into history
        from (select * from messages
               where tenant_id = p_tenant and conversation_id = p_conversation and seq < m.seq
               order by seq desc limit p_history) h;
    end if;
  end store;
  commit;
  -- After the commit record: a replica that has replayed this far sees the message.
  write_position := lpad(to_hex((pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint), 16, '0');
end
$$;
