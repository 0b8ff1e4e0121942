import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDatabase } from '@parley/embedded';
import { isSchemaError } from './errors.js';
import { migrate, migrationOwners, platformMigrations } from './migrate.js';

let db: PgliteDatabase;

beforeAll(async () => {
  db = await PgliteDatabase.open();
});

afterAll(async () => {
  await db.close();
});

describe('the platform schema', () => {
  it('numbers every owner’s migrations in one sequence, each version once', async () => {
    const versions = (await platformMigrations()).map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  });

  it('keeps each table’s migrations beside the code that owns it', async () => {
    const owners = await migrationOwners();
    const byOwner = new Map<string, number[]>();
    for (const [version, owner] of owners)
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), version]);
    expect(Object.fromEntries(byOwner)).toEqual({
      'packages/conversations': [1, 2, 3, 8, 12, 14, 15, 16, 17],
      'services/hitl': [4, 5, 6, 7, 13, 18],
      'packages/knowledge': [9],
      'services/voice': [10],
      'packages/status-page': [11],
    });
  });

  it('applies the migrations in version order, each once', async () => {
    const all = await platformMigrations();
    // Given out of order (as owners list them), applied in the global order.
    const applied = await migrate(db, [...all].reverse());
    expect(applied).toEqual(all.map((m) => m.version));
    expect(await migrate(db)).toEqual([]);
    const tables = await db.read<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by 1",
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        'tenants',
        'handoffs',
        'knowledge_chunks',
        'phone_numbers',
        'status_incidents',
      ]),
    );
  });

  it('refuses a migration changed after it was applied', async () => {
    await migrate(db);
    const [first, ...rest] = await platformMigrations();
    const changed = { ...first!, sql: `${first!.sql}\n-- edited` };
    const err = await migrate(db, [changed, ...rest]).catch((e: unknown) => e);
    expect(isSchemaError(err, 'SCHEMA_ERR_MIGRATION_CHANGED')).toBe(true);
  });
});
