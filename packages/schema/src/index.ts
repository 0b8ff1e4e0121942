/**
 * Parley's Postgres schema. Each owner keeps its migrations beside its code
 * (`packages/conversations/migrations`, `services/hitl/migrations`, ...),
 * numbered in one sequence across owners; the build gathers them here and
 * `migrate()` applies them in that order.
 *
 * ```ts
 * import { migrate } from '@parley/schema';
 * const applied = await migrate(db); // [] when the schema is up to date
 * ```
 */
export { migrate, platformMigrations, migrationOwners, type Migration } from './migrate.js';
export { SchemaError, isSchemaError, type SchemaErrorCode } from './errors.js';
