import type { SqlDatabase } from '@parley/ports';
import { iso } from './rows.js';

/** A visitor's request to be called back. */
export interface Callback {
  id: string;
  conversationId: string;
  contactKind: 'phone' | 'email';
  contact: string;
  note: string | null;
  status: 'open' | 'done';
  createdAt: string;
  doneAt: string | null;
  doneBy: string | null;
}

/** Visitors' callback requests, in Postgres (`callbacks`). Every statement names the tenant. */
export class CallbackStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Stores a callback request once per event; returns its ticket. */
  async saveCallback(input: {
    tenantId: string;
    id: string;
    conversationId: string;
    contactKind: 'phone' | 'email';
    contact: string;
    note?: string;
    eventId: string;
  }): Promise<{ callback: Callback; created: boolean }> {
    const { result } = await this.db.transaction(async (tx) => {
      const [inserted] = await tx.query<CallbackRow>(
        `insert into callbacks (tenant_id, id, conversation_id, contact_kind, contact, note, event_id)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing
         returning ${CALLBACK_COLUMNS}`,
        [
          input.tenantId,
          input.id,
          input.conversationId,
          input.contactKind,
          input.contact,
          input.note ?? null,
          input.eventId,
        ],
      );
      if (inserted) return { callback: toCallback(inserted), created: true };
      const [existing] = await tx.query<CallbackRow>(
        `select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and event_id = $2`,
        [input.tenantId, input.eventId],
      );
      return { callback: toCallback(existing!), created: false };
    });
    return result;
  }

  /** The tenant's callback list: open ones first, oldest first, then the latest done. */
  async callbacks(tenantId: string): Promise<Callback[]> {
    const rows = await this.db.read<CallbackRow>(
      `(select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and status = 'open'
         order by created_at limit 200)
       union all
       (select ${CALLBACK_COLUMNS} from callbacks where tenant_id = $1 and status = 'done'
         order by done_at desc limit 50)`,
      [tenantId],
      'primary',
    );
    return rows.map(toCallback);
  }

  /** Marks a callback done by the agent; null when the tenant has no such callback. */
  async completeCallback(tenantId: string, id: string, agentId: string): Promise<Callback | null> {
    const { result } = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<CallbackRow>(
        `update callbacks set status = 'done', done_at = coalesce(done_at, now()),
                done_by = coalesce(done_by, $3)
          where tenant_id = $1 and id = $2
          returning ${CALLBACK_COLUMNS}`,
        [tenantId, id, agentId],
      );
      return row ? toCallback(row) : null;
    });
    return result;
  }
}

interface CallbackRow {
  id: string;
  conversation_id: string;
  contact_kind: 'phone' | 'email';
  contact: string;
  note: string | null;
  status: 'open' | 'done';
  created_at: Date | string;
  done_at: Date | string | null;
  done_by: string | null;
}

const CALLBACK_COLUMNS =
  'id, conversation_id, contact_kind, contact, note, status, created_at, done_at, done_by';

function toCallback(row: CallbackRow): Callback {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    contactKind: row.contact_kind,
    contact: row.contact,
    note: row.note,
    status: row.status,
    createdAt: iso(row.created_at)!,
    doneAt: iso(row.done_at),
    doneBy: row.done_by,
  };
}
