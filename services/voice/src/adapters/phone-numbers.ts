import { LRUCache } from 'lru-cache';
import type { SqlDatabase } from '@parley/ports';
import type { VoiceErrorCode } from '../errors.js';

/** A number already attached to another tenant. */
export class NumberTakenError extends Error {
  readonly code = 'VOICE_ERR_NUMBER_TAKEN' satisfies VoiceErrorCode;
  constructor() {
    super('this number belongs to another tenant');
    this.name = 'NumberTakenError';
  }
}

/** E.164: a plus, then 7 to 15 digits, not starting with 0. */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * The tenants' phone numbers (table `phone_numbers`): which tenant a called
 * number belongs to. Every change is scoped to one tenant; the webhook's
 * lookups are cached for `ttlMs`, so a detached number stops ringing through
 * within it on every pod.
 */
export class PhoneNumbers {
  private readonly cache: LRUCache<string, { tenantId: string | null }>;

  constructor(
    private readonly db: SqlDatabase,
    options: { ttlMs?: number } = {},
  ) {
    this.cache = new LRUCache({ max: 10_000, ttl: options.ttlMs ?? 30_000 });
  }

  /** The tenant `number` belongs to, or null. */
  async tenantOf(number: string): Promise<string | null> {
    if (!E164.test(number)) return null;
    const hit = this.cache.get(number);
    if (hit) return hit.tenantId;
    const sql = 'select tenant_id from phone_numbers where number = $1';
    // A replica may not have a number attached a moment ago: a miss asks the primary.
    const rows =
      (await this.db.read<{ tenant_id: string }>(sql, [number]))[0] ??
      (await this.db.read<{ tenant_id: string }>(sql, [number], 'primary'))[0];
    const tenantId = rows?.tenant_id ?? null;
    this.cache.set(number, { tenantId }, tenantId ? {} : { ttl: 5_000 });
    return tenantId;
  }

  async list(tenantId: string): Promise<Array<{ number: string; createdAt: string }>> {
    const rows = await this.db.read<{ number: string; created_at: Date | string }>(
      'select number, created_at from phone_numbers where tenant_id = $1 order by number',
      [tenantId],
      'primary',
    );
    return rows.map((r) => ({ number: r.number, createdAt: new Date(r.created_at).toISOString() }));
  }

  /** Attaches `number` to the tenant; false when it already was. */
  async attach(tenantId: string, number: string): Promise<boolean> {
    const { result } = await this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ tenant_id: string }>(
        `insert into phone_numbers (number, tenant_id) values ($1, $2)
         on conflict (number) do nothing returning tenant_id`,
        [number, tenantId],
      );
      if (inserted.length > 0) return true;
      const owner = await tx.query<{ tenant_id: string }>(
        'select tenant_id from phone_numbers where number = $1',
        [number],
      );
      if (owner[0]?.tenant_id !== tenantId) throw new NumberTakenError();
      return false;
    });
    this.cache.delete(number);
    return result;
  }

  /** Detaches the tenant's `number`; false when the tenant had no such number. */
  async detach(tenantId: string, number: string): Promise<boolean> {
    const { result } = await this.db.transaction(
      async (tx) =>
        (
          await tx.query(
            'delete from phone_numbers where number = $1 and tenant_id = $2 returning number',
            [number, tenantId],
          )
        ).length > 0,
    );
    this.cache.delete(number);
    return result;
  }
}
