import {
  tenantAiSettingsSchema,
  tenantIdSchema,
  type ConversationState,
  type StoredMessage,
  type TenantAiSettings,
} from '@parley/contracts';
import type { ReadConsistency, SqlDatabase, WritePosition } from '@parley/ports';
import { StoreError } from './errors.js';

/** A tenant as the gateway needs it. */
export interface Tenant {
  id: string;
  name: string;
  widgetKey: string;
  allowedOrigins: string[];
  /** Phone number or address shown to end users in an emergency. */
  emergencyContact?: string | null;
  /** The tenant's own AI settings (validated); absent keeps what is stored, `{}` uses the defaults. */
  aiSettings?: TenantAiSettings;
  /**
   * Signs customer ids on the tenant's pages (HMAC-SHA256, hex), so that the
   * widget can say who the customer is; absent keeps what is stored, null
   * removes it. A secret: never logged or returned by an API.
   */
  identitySecret?: string | null;
}

/** What the AI is told about a tenant with each reply request. */
export interface ReplySettings {
  emergencyContact: string | null;
  ai: TenantAiSettings;
}

/** A conversation's owner and state. */
export interface Conversation extends ConversationState {
  tenantId: string;
  id: string;
  visitorId: string;
  channel: 'web' | 'voice';
  /** The visitor's language (a primary subtag such as `de`), when the widget told it. */
  language: string | null;
  /** The tenant's own id for the customer, when the tenant's page signed it. */
  customerId: string | null;
  /** The region whose services last served the visitor (null: not known); docs/multi-region.md. */
  homeRegion: string | null;
}

/** What {@link ConversationStore.appendMessage} stores. */
export interface NewMessage {
  tenantId: string;
  conversationId: string;
  visitorId: string;
  channel: 'web' | 'voice';
  role: StoredMessage['role'];
  messageId: string;
  clientMessageId: string;
  eventId: string;
  text: string;
  /** The visitor's language (user messages; the newest one given is kept). */
  language?: string;
  /** The verified customer id (user messages; set once, never changed). */
  customerId?: string;
  /** The region storing a user message: it becomes the conversation's home. */
  region?: string;
  /** The documents an answer came from (assistant messages). */
  sources?: Array<{ title: string; url: string | null }>;
  /** When the gateway accepted it; for a reply, the answered message's time is kept instead. */
  receivedAt: Date;
  replyToSeq?: number;
  /** A change of who holds the conversation, made with the message (handoffs, agent replies). */
  state?: StatePatch;
  /**
   * Store only while this side holds the conversation (checked under the row
   * lock); otherwise STORE_ERR_NOT_HANDLER. The bot's answers pass 'bot', so
   * a muted bot never speaks over an agent.
   */
  requireHandler?: 'bot' | 'agent';
  /** Return this many messages before it, oldest first, when it is stored now (`Appended.history`). */
  history?: number;
}

/** Who holds a conversation, and whether a handoff waits. */
export interface StatePatch {
  handler?: 'bot' | 'agent';
  handoff?: 'none' | 'waiting';
}

/** The outcome of an append: `created` is false when the message was already stored. */
export interface Appended {
  message: StoredMessage;
  conversation: Conversation;
  created: boolean;
  /** Pass to reads that must see this write. */
  position: WritePosition;
  /** When the user message this is or answers reached the gateway. */
  receivedAt: string;
  /** The messages before it, oldest first, when `history` was asked for and it was stored now. */
  history?: StoredMessage[];
}

const MESSAGE_COLUMNS = `seq::integer as seq, id, role, client_message_id, text, received_at, created_at,
  sources`;
const CONVERSATION_COLUMNS = `tenant_id, id, visitor_id, channel, status, handler, handoff,
  last_seq::integer as last_seq, language, customer_id, home_region`;

interface MessageRow {
  seq: number;
  id: string;
  role: StoredMessage['role'];
  client_message_id: string;
  text: string;
  received_at: Date | string;
  created_at: Date | string;
  sources: Array<{ title: string; url: string | null }> | null;
}

interface ConversationRow {
  tenant_id: string;
  id: string;
  visitor_id: string;
  channel: 'web' | 'voice';
  status: 'open' | 'resolved';
  handler: 'bot' | 'agent';
  handoff: 'none' | 'waiting';
  last_seq: number;
  language: string | null;
  customer_id: string | null;
  home_region: string | null;
}

/**
 * Tenants, conversations and messages. Every method names the tenant, and
 * every statement filters by it. Messages get per-conversation sequence
 * numbers without gaps: the conversation row is locked, its counter
 * incremented and the message inserted in one transaction.
 */
export class ConversationStore {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Adds a tenant (or updates its name, key, origins and contact; its AI
   * settings too when given). Refuses an id {@link tenantIdSchema} does not allow
   * (STORE_ERR_INVALID_TENANT_ID) and invalid AI settings (STORE_ERR_INVALID_SETTINGS).
   */
  async upsertTenant(tenant: Tenant): Promise<void> {
    const id = tenantIdSchema.safeParse(tenant.id);
    if (!id.success)
      throw new StoreError('STORE_ERR_INVALID_TENANT_ID', id.error.issues[0]!.message);
    let settings: string | null = null;
    if (tenant.aiSettings !== undefined) {
      const parsed = tenantAiSettingsSchema.safeParse(tenant.aiSettings);
      if (!parsed.success)
        throw new StoreError(
          'STORE_ERR_INVALID_SETTINGS',
          `invalid AI settings: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
        );
      settings = JSON.stringify(parsed.data);
    }
    if (typeof tenant.identitySecret === 'string' && tenant.identitySecret.length < 32)
      throw new StoreError(
        'STORE_ERR_INVALID_SETTINGS',
        'the identity secret needs at least 32 characters',
      );
    await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into tenants (id, name, widget_key, allowed_origins, emergency_contact, ai_settings,
                              identity_secret)
         values ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb), $8)
         on conflict (id) do update
           set name = $2, widget_key = $3, allowed_origins = $4, emergency_contact = $5,
               ai_settings = coalesce($6::jsonb, tenants.ai_settings),
               identity_secret = case when $7 then $8 else tenants.identity_secret end,
               deleted_at = null`,
        [
          tenant.id,
          tenant.name,
          tenant.widgetKey,
          tenant.allowedOrigins,
          tenant.emergencyContact ?? null,
          settings,
          tenant.identitySecret !== undefined,
          tenant.identitySecret ?? null,
        ],
      );
      // The given key is the tenant's one live key (the admin API keeps several while rotating).
      const [key] = await tx.query<{ tenant_id: string }>(
        `insert into widget_keys (key, tenant_id) values ($1, $2)
         on conflict (key) do update set revoked_at = null where widget_keys.tenant_id = $2
         returning tenant_id`,
        [tenant.widgetKey, tenant.id],
      );
      if (!key)
        throw new StoreError(
          'STORE_ERR_INVALID_SETTINGS',
          'the widget key belongs to another tenant',
        );
      await tx.query(
        `update widget_keys set revoked_at = now()
          where tenant_id = $1 and key <> $2 and revoked_at is null`,
        [tenant.id, tenant.widgetKey],
      );
    });
  }

  /** The tenant's emergency contact and AI settings (defaults when it has none, or is unknown). */
  async replySettings(tenantId: string): Promise<ReplySettings> {
    const [row] = await this.db.read<{ emergency_contact: string | null; ai_settings: unknown }>(
      'select emergency_contact, ai_settings from tenants where id = $1',
      [tenantId],
    );
    // Stored settings were validated on write; a row edited by hand that no longer parses is ignored.
    const ai = tenantAiSettingsSchema.safeParse(row?.ai_settings ?? {});
    return { emergencyContact: row?.emergency_contact ?? null, ai: ai.success ? ai.data : {} };
  }

  /** Whether some tenant allows `origin` for its widget (what a CORS preflight may be told). */
  async isAllowedOrigin(
    origin: string,
    consistency: ReadConsistency = 'replica',
  ): Promise<boolean> {
    const rows = await this.db.read(
      'select 1 from tenants where $1 = any(allowed_origins) and deleted_at is null limit 1',
      [origin],
      consistency,
    );
    return rows.length > 0;
  }

  /** The tenant whose live widget key this is (not revoked, the tenant not deleted), or null. */
  async tenantByWidgetKey(
    widgetKey: string,
    consistency: ReadConsistency = 'replica',
  ): Promise<Tenant | null> {
    const [row] = await this.db.read<{
      id: string;
      name: string;
      widget_key: string;
      allowed_origins: string[];
      identity_secret: string | null;
    }>(
      `select t.id, t.name, t.widget_key, t.allowed_origins, t.identity_secret
         from widget_keys k join tenants t on t.id = k.tenant_id
        where k.key = $1 and k.revoked_at is null and t.deleted_at is null`,
      [widgetKey],
      consistency,
    );
    return row
      ? {
          id: row.id,
          name: row.name,
          widgetKey: row.widget_key,
          allowedOrigins: row.allowed_origins,
          identitySecret: row.identity_secret,
        }
      : null;
  }

  /** One conversation of the tenant, or null. */
  async conversation(
    tenantId: string,
    conversationId: string,
    consistency: ReadConsistency = 'replica',
  ): Promise<Conversation | null> {
    const [row] = await this.db.read<ConversationRow>(
      `select ${CONVERSATION_COLUMNS} from conversations where tenant_id = $1 and id = $2`,
      [tenantId, conversationId],
      consistency,
    );
    return row ? toConversation(row) : null;
  }

  /** Messages with a sequence number above `afterSeq`, oldest first, at most `limit`. */
  async messagesAfter(
    tenantId: string,
    conversationId: string,
    afterSeq: number,
    limit: number,
    consistency: ReadConsistency = 'replica',
  ): Promise<StoredMessage[]> {
    const rows = await this.db.read<MessageRow>(
      `select ${MESSAGE_COLUMNS} from messages
       where tenant_id = $1 and conversation_id = $2 and seq > $3
       order by seq limit $4`,
      [tenantId, conversationId, afterSeq, limit],
      consistency,
    );
    return rows.map(toMessage);
  }

  /** The newest `limit` messages up to and including `uptoSeq`, oldest first. */
  async recentMessages(
    tenantId: string,
    conversationId: string,
    uptoSeq: number,
    limit: number,
    consistency: ReadConsistency = 'replica',
  ): Promise<StoredMessage[]> {
    const rows = await this.db.read<MessageRow>(
      `select ${MESSAGE_COLUMNS} from messages
       where tenant_id = $1 and conversation_id = $2 and seq <= $3
       order by seq desc limit $4`,
      [tenantId, conversationId, uptoSeq, limit],
      consistency,
    );
    return rows.map(toMessage).reverse();
  }

  /**
   * User messages newer than `since` (and older than `until`) that the bot
   * should have answered but has not (oldest first, at most `limit`), across
   * tenants: for recovery after the requests were lost (a process that held
   * them in memory died, or a region with its Kafka).
   */
  async unansweredUserMessages(
    since: Date,
    limit: number,
    until?: Date,
  ): Promise<Array<{ conversation: Conversation; message: StoredMessage }>> {
    const rows = await this.db.read<MessageRow & { conv: ConversationRow }>(
      `select m.seq::integer as seq, m.id, m.role, m.client_message_id, m.text, m.received_at, m.sources,
              m.created_at,
              json_build_object('tenant_id', c.tenant_id, 'id', c.id, 'visitor_id', c.visitor_id,
                'channel', c.channel, 'status', c.status, 'handler', c.handler,
                'handoff', c.handoff, 'last_seq', c.last_seq, 'language', c.language,
                'customer_id', c.customer_id, 'home_region', c.home_region) as conv
       from messages m
       join conversations c on c.tenant_id = m.tenant_id and c.id = m.conversation_id
       where m.role = 'user' and c.handler = 'bot' and m.created_at >= $1
         and ($3::timestamptz is null or m.created_at < $3)
         and not exists (select 1 from messages r
                         where r.tenant_id = m.tenant_id and r.conversation_id = m.conversation_id
                           and r.client_message_id = 'reply:' || m.seq)
       order by m.created_at limit $2`,
      [since, limit, until ?? null],
      'primary',
    );
    return rows.map((row) => ({ conversation: toConversation(row.conv), message: toMessage(row) }));
  }

  /**
   * Makes `region` the conversation's home (its visitor connected there):
   * true when that changed it. Writes nothing when it already was.
   */
  async claimHome(tenantId: string, conversationId: string, region: string): Promise<boolean> {
    const { result } = await this.db.transaction(async (tx) =>
      tx.query(
        `update conversations set home_region = $3
          where tenant_id = $1 and id = $2 and home_region is distinct from $3
          returning 1`,
        [tenantId, conversationId, region],
      ),
    );
    return result.length > 0;
  }

  /**
   * Changes who holds an existing conversation, or whether a handoff waits,
   * without a message. Null when the tenant has no such conversation.
   */
  async setState(
    tenantId: string,
    conversationId: string,
    patch: StatePatch,
  ): Promise<{ conversation: Conversation; position: WritePosition } | null> {
    const { result, position } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<ConversationRow>(
        `update conversations
            set handler = coalesce($3, handler), handoff = coalesce($4, handoff), updated_at = now()
          where tenant_id = $1 and id = $2
          returning ${CONVERSATION_COLUMNS}`,
        [tenantId, conversationId, patch.handler ?? null, patch.handoff ?? null],
      );
      return row ? toConversation(row) : null;
    });
    return result ? { conversation: result, position } : null;
  }

  /**
   * Stores a message with the conversation's next sequence number, creating
   * the conversation on its first message. Idempotent: a message whose
   * client message id (or event id) is already stored is returned as it was.
   * A user message reopens a resolved conversation.
   */
  async appendMessage(input: NewMessage): Promise<Appended> {
    // One statement, one round trip, the write position included (migration 0016
    // has the steps and their rules).
    const { rows, position } = await this.db.write<{
      outcome: 'created' | 'exists' | 'unknown_tenant' | 'owner' | 'not_handler';
      conversation: ConversationRow | null;
      message: MessageRow | null;
      history: MessageRow[] | null;
    }>(
      `call parley_append_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb,
                                  $13, $14, $15, $16, $17, $18, $19, null, null, null, null, null)`,
      [
        input.tenantId,
        input.conversationId,
        input.visitorId,
        input.channel,
        input.role,
        input.messageId,
        input.clientMessageId,
        input.eventId,
        input.text,
        input.receivedAt,
        input.replyToSeq ?? null,
        input.sources?.length ? JSON.stringify(input.sources) : null,
        input.state?.handler ?? null,
        input.state?.handoff ?? null,
        input.language ?? null,
        input.customerId ?? null,
        input.region ?? null,
        input.requireHandler ?? null,
        input.history ?? 0,
      ],
      { positionColumn: 'write_position' },
    );
    const { outcome, conversation, message, history } = rows[0]!;
    switch (outcome) {
      case 'unknown_tenant':
        throw new StoreError('STORE_ERR_UNKNOWN_TENANT', `No tenant ${input.tenantId}`);
      case 'owner':
        throw new StoreError(
          'STORE_ERR_CONVERSATION_OWNER',
          'The conversation belongs to another visitor',
        );
      case 'not_handler':
        throw new StoreError(
          'STORE_ERR_NOT_HANDLER',
          `The conversation is held by the ${conversation!.handler}, not the ${input.requireHandler}`,
        );
    }
    return {
      message: toMessage(message!),
      receivedAt: iso(message!.received_at),
      conversation: toConversation(conversation!),
      created: outcome === 'created',
      position,
      ...(history ? { history: history.map(toMessage) } : {}),
    };
  }
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    seq: Number(row.seq),
    messageId: row.id,
    role: row.role,
    clientMessageId: row.client_message_id,
    text: row.text,
    createdAt: iso(row.created_at),
    ...(row.sources?.length ? { sources: row.sources } : {}),
  };
}

function toConversation(row: ConversationRow): Conversation {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    visitorId: row.visitor_id,
    channel: row.channel,
    status: row.status,
    handler: row.handler,
    handoff: row.handoff,
    lastSeq: Number(row.last_seq),
    language: row.language ?? null,
    customerId: row.customer_id ?? null,
    homeRegion: row.home_region ?? null,
  };
}
