import type { SqlDatabase } from '@parley/ports';
import {
  hitlSettingsSchema,
  type AssignmentStrategy,
  type HitlSettings,
} from '../domain/settings.js';

/** The tenants' handoff settings, in Postgres (`tenants.hitl_settings`), and whether a tenant exists. */
export class HitlSettingsStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Whether the tenant exists. */
  async tenantExists(tenantId: string): Promise<boolean> {
    const rows = await this.db.read('select 1 from tenants where id = $1', [tenantId], 'primary');
    return rows.length > 0;
  }

  /** The tenant's handoff settings (`{}` when it set none or is unknown). */
  async settings(tenantId: string): Promise<HitlSettings> {
    const [row] = await this.db.read<{ hitl_settings: unknown }>(
      'select hitl_settings from tenants where id = $1',
      [tenantId],
      'primary',
    );
    // Validated on write; a row edited by hand that no longer parses falls back to the defaults.
    const parsed = hitlSettingsSchema.safeParse(row?.hitl_settings ?? {});
    return parsed.success ? parsed.data : {};
  }

  /** Replaces the tenant's handoff settings (validated); false when there is no such tenant. */
  async setSettings(tenantId: string, settings: HitlSettings): Promise<boolean> {
    const { result } = await this.db.transaction((tx) =>
      tx.query('update tenants set hitl_settings = $2::jsonb where id = $1 returning id', [
        tenantId,
        JSON.stringify(hitlSettingsSchema.parse(settings)),
      ]),
    );
    return result.length > 0;
  }

  /** The tenant's assignment strategy ('pooled' unless it chose another). */
  async strategy(tenantId: string): Promise<AssignmentStrategy> {
    return (await this.settings(tenantId)).assignment ?? 'pooled';
  }

  async setStrategy(tenantId: string, strategy: AssignmentStrategy): Promise<void> {
    await this.setSettings(tenantId, { ...(await this.settings(tenantId)), assignment: strategy });
  }
}
