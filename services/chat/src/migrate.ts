/**
 * `pnpm --filter @parley/chat migrate`: applies the schema migrations to the
 * primary named by PARLEY_PG_PRIMARY_URL (also run as a deploy hook). With
 * PARLEY_DEMO_ORIGINS (comma-separated origins) it also creates the demo
 * tenant, widget key `pk_demo`, allowed on those origins.
 */
import { env, isConfigError, loadConfig, postgresFields } from '@parley/config';
import { ConversationStore, migrate } from '@parley/conversations';
import { PgDatabase } from '@parley/postgres';

try {
  const config = loadConfig(
    {
      pgPrimaryUrl: postgresFields.pgPrimaryUrl,
      demoOrigins: env.urlList('PARLEY_DEMO_ORIGINS', {
        protocols: ['http:', 'https:'],
        default: [],
      }),
    },
    process.env,
  );
  const db = new PgDatabase({ primaryUrl: config.pgPrimaryUrl });
  try {
    const applied = await migrate(db);
    process.stdout.write(
      applied.length ? `Applied migrations ${applied.join(', ')}\n` : 'Schema is up to date\n',
    );
    if (config.demoOrigins.length > 0) {
      await new ConversationStore(db).upsertTenant({
        id: 'demo',
        name: 'Parley demo',
        widgetKey: 'pk_demo',
        allowedOrigins: config.demoOrigins.map((u) => new URL(u).origin),
      });
      process.stdout.write('Demo tenant pk_demo ready\n');
    }
  } finally {
    await db.close();
  }
} catch (err) {
  process.stderr.write(`migrate: ${isConfigError(err) ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
