import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SqlDatabase } from '@parley/ports';
import { SchemaError } from './errors.js';

/** One versioned schema change, from an owner's `migrations/NNNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where the build gathered every owner's migrations (gather.mjs). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** Any constant: serializes migrators of one database. */
const LOCK_KEY = 0x7061726c;

/** Every migration of the platform, in version order (one order across all owners). */
export async function platformMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(`${dir}${file}`, 'utf8'),
    })),
  );
}

/** Which package or service owns each migration, by version (`services/hitl`, ...). */
export async function migrationOwners(dir = MIGRATIONS_DIR): Promise<Map<number, string>> {
  const owners = JSON.parse(await readFile(`${dir}owners.json`, 'utf8')) as Record<string, string>;
  return new Map(Object.entries(owners).map(([version, owner]) => [Number(version), owner]));
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Applies the migrations not applied yet, in version order, all in one
 * transaction under an advisory lock (so concurrent runs wait and then find
 * nothing to do). Refuses to run when an applied migration's file changed
 * since. Returns the versions it applied.
 */
export async function migrate(db: SqlDatabase, migrations?: Migration[]): Promise<number[]> {
  const all = [...(migrations ?? (await platformMigrations()))].sort(
    (a, b) => a.version - b.version,
  );
  const { result } = await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const applied = new Map(
      (
        await tx.query<{ version: number; checksum: string }>(
          'select version, checksum from schema_migrations',
        )
      ).map((r) => [r.version, r.checksum]),
    );
    const done: number[] = [];
    for (const m of all) {
      const known = applied.get(m.version);
      if (known !== undefined) {
        if (known !== checksum(m.sql))
          throw new SchemaError(
            'SCHEMA_ERR_MIGRATION_CHANGED',
            `Migration ${m.version} (${m.name}) changed after it was applied; add a new migration instead`,
          );
        continue;
      }
      await tx.script(m.sql);
      await tx.query(
        'insert into schema_migrations (version, name, checksum) values ($1, $2, $3)',
        [m.version, m.name, checksum(m.sql)],
      );
      done.push(m.version);
    }
    return done;
  });
  return result;
}
