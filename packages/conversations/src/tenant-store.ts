import { randomBytes } from 'node:crypto';
import {
  hitlSettingsSchema,
  tenantAiSettingsSchema,
  tenantIdSchema,
  type HitlSettings,
  type TenantAiSettings,
} from '@parley/contracts';
import type { SqlDatabase, SqlTransaction } from '@parley/ports';
import type { z } from 'zod';
import { StoreError } from './errors.js';

/** A tenant as operators see it: no secret, only whether one is set. */
export interface TenantView {
  id: string;
  name: string;
  allowedOrigins: string[];
  emergencyContact: string | null;
  aiSettings: TenantAiSettings;
  hitlSettings: HitlSettings;
  /** The live widget keys, newest first (the first is the one new script tags show). */
  widgetKeys: Array<{ key: string; createdAt: string }>;
  /** Whether customer ids can be verified (an identity secret is set). */
  identitySecret: boolean;
  createdAt: string;
}

/** What an operator sets; absent fields keep their value (a new tenant needs `allowedOrigins`). */
export interface TenantSettings {
  name?: string;
  allowedOrigins?: string[];
  emergencyContact?: string | null;
  aiSettings?: TenantAiSettings;
  hitlSettings?: HitlSettings;
}

/** A new public widget key: `pk_` and 24 random base64url characters (not a secret). */
export const newWidgetKey = (): string => `pk_${randomBytes(18).toString('base64url')}`;

interface TenantRow {
  id: string;
  name: string;
  allowed_origins: string[];
  emergency_contact: string | null;
  ai_settings: unknown;
  hitl_settings: unknown;
  has_identity_secret: boolean;
  created_at: Date | string;
  keys: Array<{ key: string; created_at: string }> | null;
}

/**
 * Onboarding and offboarding, for the operators' tenant admin API: a
 * tenant's settings, its widget keys (issued, rotated with several live at
 * once, revoked) and its identity secret (rotated, shown once). Deleting a
 * tenant revokes every key and hides it; its conversations stay for export.
 */
export class TenantStore {
  constructor(private readonly db: SqlDatabase) {}

  /** The tenant (not deleted), or null. */
  async get(tenantId: string): Promise<TenantView | null> {
    const [row] = await this.db.read<TenantRow>(
      `select t.id, t.name, t.allowed_origins, t.emergency_contact, t.ai_settings, t.hitl_settings,
              t.identity_secret is not null as has_identity_secret, t.created_at,
              (select json_agg(json_build_object('key', k.key, 'created_at', k.created_at)
                               order by k.created_at desc, k.key)
                 from widget_keys k where k.tenant_id = t.id and k.revoked_at is null) as keys
         from tenants t where t.id = $1 and t.deleted_at is null`,
      [tenantId],
      'primary',
    );
    return row ? toView(row) : null;
  }

  /**
   * Creates the tenant with a first widget key, or updates it. `createOnly`
   * refuses an existing one (STORE_ERR_TENANT_EXISTS). A deleted tenant's id
   * is not reused (STORE_ERR_TENANT_DELETED): its conversations still name it.
   */
  async put(
    tenantId: string,
    settings: TenantSettings,
    {
      createOnly = false,
      widgetKey: firstKey,
    }: {
      createOnly?: boolean;
      /** A new tenant's first key when it must be a known one (the demo's `pk_demo`). */
      widgetKey?: string;
    } = {},
  ): Promise<{ tenant: TenantView; created: boolean; widgetKey?: string }> {
    const id = tenantIdSchema.safeParse(tenantId);
    if (!id.success)
      throw new StoreError('STORE_ERR_INVALID_TENANT_ID', id.error.issues[0]!.message);
    const ai = settings.aiSettings && parse(tenantAiSettingsSchema, settings.aiSettings, 'AI');
    const hitl = settings.hitlSettings && parse(hitlSettingsSchema, settings.hitlSettings, 'hitl');
    const { result } = await this.db.transaction(async (tx) => {
      const [existing] = await tx.query<{ deleted: boolean }>(
        'select deleted_at is not null as deleted from tenants where id = $1 for update',
        [tenantId],
      );
      if (existing?.deleted)
        throw new StoreError(
          'STORE_ERR_TENANT_DELETED',
          'This tenant was deleted; its id is not reused',
        );
      if (existing && createOnly)
        throw new StoreError('STORE_ERR_TENANT_EXISTS', 'This tenant exists already');
      if (!existing) {
        if (!settings.allowedOrigins?.length)
          throw new StoreError(
            'STORE_ERR_INVALID_SETTINGS',
            'a new tenant needs at least one allowed origin',
          );
        const widgetKey = firstKey ?? newWidgetKey();
        await tx.query(
          `insert into tenants (id, name, widget_key, allowed_origins, emergency_contact,
                                ai_settings, hitl_settings)
           values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)`,
          [
            tenantId,
            settings.name ?? tenantId,
            widgetKey,
            settings.allowedOrigins,
            settings.emergencyContact ?? null,
            JSON.stringify(ai ?? {}),
            JSON.stringify(hitl ?? {}),
          ],
        );
        await tx.query('insert into widget_keys (key, tenant_id) values ($1, $2)', [
          widgetKey,
          tenantId,
        ]);
        return { created: true, widgetKey };
      }
      await tx.query(
        `update tenants
            set name = coalesce($2, name), allowed_origins = coalesce($3, allowed_origins),
                emergency_contact = case when $4 then $5 else emergency_contact end,
                ai_settings = coalesce($6::jsonb, ai_settings),
                hitl_settings = coalesce($7::jsonb, hitl_settings)
          where id = $1`,
        [
          tenantId,
          settings.name ?? null,
          settings.allowedOrigins?.length ? settings.allowedOrigins : null,
          settings.emergencyContact !== undefined,
          settings.emergencyContact ?? null,
          ai ? JSON.stringify(ai) : null,
          hitl ? JSON.stringify(hitl) : null,
        ],
      );
      return { created: false };
    });
    const tenant = (await this.get(tenantId))!;
    return result.widgetKey
      ? { tenant, created: true, widgetKey: result.widgetKey }
      : { tenant, created: result.created };
  }

  /** Offboards the tenant: every widget key revoked, hidden from the API. False when unknown. */
  async delete(tenantId: string): Promise<boolean> {
    const { result } = await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        'update tenants set deleted_at = now() where id = $1 and deleted_at is null returning id',
        [tenantId],
      );
      if (rows.length > 0)
        await tx.query(
          'update widget_keys set revoked_at = now() where tenant_id = $1 and revoked_at is null',
          [tenantId],
        );
      return rows.length > 0;
    });
    return result;
  }

  /** A new live key (the others stay live until revoked); it becomes the one script tags show. */
  async issueKey(tenantId: string): Promise<{ key: string; createdAt: string } | null> {
    const key = newWidgetKey();
    const { result } = await this.db.transaction(async (tx) => {
      if (!(await lockLive(tx, tenantId))) return null;
      const [row] = await tx.query<{ created_at: Date | string }>(
        'insert into widget_keys (key, tenant_id) values ($1, $2) returning created_at',
        [key, tenantId],
      );
      await tx.query('update tenants set widget_key = $2 where id = $1', [tenantId, key]);
      return { key, createdAt: iso(row!.created_at) };
    });
    return result;
  }

  /**
   * Revokes one key: `revoked`, `unknown` (not a live key of the tenant), or
   * `last` (the tenant's only live key: delete the tenant to stop it instead).
   */
  async revokeKey(tenantId: string, key: string): Promise<'revoked' | 'unknown' | 'last'> {
    const { result } = await this.db.transaction(async (tx) => {
      if (!(await lockLive(tx, tenantId))) return 'unknown' as const;
      const live = await tx.query<{ key: string }>(
        `select key from widget_keys where tenant_id = $1 and revoked_at is null
          order by created_at desc, key`,
        [tenantId],
      );
      if (!live.some((k) => k.key === key)) return 'unknown' as const;
      if (live.length === 1) return 'last' as const;
      await tx.query('update widget_keys set revoked_at = now() where key = $1', [key]);
      const newest = live.find((k) => k.key !== key)!.key;
      await tx.query('update tenants set widget_key = $2 where id = $1', [tenantId, newest]);
      return 'revoked' as const;
    });
    return result;
  }

  /** Replaces the identity secret with a new random one, returned once; null when unknown. */
  async rotateIdentitySecret(tenantId: string): Promise<string | null> {
    const secret = randomBytes(32).toString('base64url');
    return (await this.setIdentitySecret(tenantId, secret)) ? secret : null;
  }

  /** Removes the identity secret (customer ids are then refused); false when unknown. */
  async removeIdentitySecret(tenantId: string): Promise<boolean> {
    return this.setIdentitySecret(tenantId, null);
  }

  private async setIdentitySecret(tenantId: string, secret: string | null): Promise<boolean> {
    const { result } = await this.db.transaction((tx) =>
      tx.query(
        'update tenants set identity_secret = $2 where id = $1 and deleted_at is null returning id',
        [tenantId, secret],
      ),
    );
    return result.length > 0;
  }
}

/** Locks a tenant that is not deleted; false when there is none. */
async function lockLive(tx: SqlTransaction, tenantId: string): Promise<boolean> {
  const rows = await tx.query(
    'select 1 from tenants where id = $1 and deleted_at is null for update',
    [tenantId],
  );
  return rows.length > 0;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StoreError(
    'STORE_ERR_INVALID_SETTINGS',
    `invalid ${what} settings: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
  );
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function toView(row: TenantRow): TenantView {
  const ai = tenantAiSettingsSchema.safeParse(row.ai_settings ?? {});
  const hitl = hitlSettingsSchema.safeParse(row.hitl_settings ?? {});
  return {
    id: row.id,
    name: row.name,
    allowedOrigins: row.allowed_origins,
    emergencyContact: row.emergency_contact,
    aiSettings: ai.success ? ai.data : {},
    hitlSettings: hitl.success ? hitl.data : {},
    widgetKeys: (row.keys ?? []).map((k) => ({ key: k.key, createdAt: iso(k.created_at) })),
    identitySecret: row.has_identity_secret,
    createdAt: iso(row.created_at),
  };
}
