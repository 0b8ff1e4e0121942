/**
 * `pnpm --filter @parley/chat migrate` (in the image: `node dist/migrate.js`,
 * the Helm chart's pre-install/pre-upgrade hook): applies the schema
 * migrations to the primary named by PARLEY_PG_PRIMARY_URL (as the schema's
 * owner from PARLEY_PG_MIGRATE_URL when given, granting the services' role
 * only the rights on data) and, when
 * PARLEY_KAFKA_BROKERS is set, creates the events topic and the knowledge
 * jobs topic (PARLEY_KNOWLEDGE_TOPIC), each with its dead letters (PARLEY_KAFKA_TOPIC_PARTITIONS, _REPLICATION_FACTOR and
 * _MIN_INSYNC_REPLICAS; an existing topic is left as it is). With
 * PARLEY_DEMO_ORIGINS (comma-separated origins) it also creates the demo
 * tenant, widget key `pk_demo`, allowed on those origins.
 */
import { env, isConfigError, kafkaFields, loadConfig, postgresFields } from '@parley/config';
import { KNOWLEDGE_JOBS_TOPIC } from '@parley/contracts';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { createKafkaClient, ensureTopics, kafkaSecurity } from '@parley/kafka';
import { PgDatabase } from '@parley/postgres';

try {
  const config = loadConfig(
    {
      pgPrimaryUrl: postgresFields.pgPrimaryUrl,
      /** The schema owner's URL: migrations run with it, and the services' role gets data rights only. */
      pgMigrateUrl: env.url('PARLEY_PG_MIGRATE_URL', {
        protocols: ['postgres:', 'postgresql:'],
        secret: true,
        default: '',
      }),
      ...kafkaFields,
      kafkaBrokers: env.hostPorts('PARLEY_KAFKA_BROKERS', { default: [] }),
      knowledgeTopic: env.string('PARLEY_KNOWLEDGE_TOPIC', { default: KNOWLEDGE_JOBS_TOPIC }),
      demoOrigins: env.urlList('PARLEY_DEMO_ORIGINS', {
        protocols: ['http:', 'https:'],
        default: [],
      }),
    },
    process.env,
  );
  const db = new PgDatabase({ primaryUrl: config.pgMigrateUrl || config.pgPrimaryUrl });
  try {
    const applied = await migrate(db);
    process.stdout.write(
      applied.length ? `Applied migrations ${applied.join(', ')}\n` : 'Schema is up to date\n',
    );
    if (config.pgMigrateUrl) {
      const role = await grantServices(db, config.pgPrimaryUrl);
      if (role)
        process.stdout.write(`Role ${role} may read and write the data, not change the schema\n`);
    }
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
  if (config.kafkaBrokers.length > 0) {
    const admin = createKafkaClient({
      brokers: config.kafkaBrokers,
      clientId: 'parley-setup',
      security: kafkaSecurity(config),
    }).admin();
    await admin.connect();
    try {
      const topic = {
        numPartitions: config.kafkaTopicPartitions,
        replicationFactor: config.kafkaReplicationFactor,
        minInsyncReplicas: config.kafkaMinInsyncReplicas,
      };
      const names = [config.kafkaTopic, config.knowledgeTopic].flatMap((t) => [t, `${t}.dlq`]);
      await ensureTopics(
        admin,
        names.map((name) => ({ topic: name, ...topic })),
      );
      process.stdout.write(`Topics ${names.join(', ')} ready\n`);
    } finally {
      await admin.disconnect();
    }
  }
} catch (err) {
  process.stderr.write(`migrate: ${isConfigError(err) ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

/**
 * The services' role (PARLEY_PG_PRIMARY_URL's user) gets the rights on data
 * that the services need, on every table and sequence now and to come, and
 * none on the schema. Returns the role, or null when it is the owner's.
 */
async function grantServices(db: PgDatabase, servicesUrl: string): Promise<string | null> {
  const role = decodeURIComponent(new URL(servicesUrl).username);
  const [owner] = await db.read<{ me: string }>('select current_user as me', [], 'primary');
  if (!role || role === owner?.me) return null;
  const quoted = `"${role.replace(/"/g, '""')}"`;
  await db.transaction((tx) =>
    tx.script(`
      grant usage on schema public to ${quoted};
      grant select, insert, update, delete on all tables in schema public to ${quoted};
      grant usage, select on all sequences in schema public to ${quoted};
      alter default privileges in schema public grant select, insert, update, delete on tables to ${quoted};
      alter default privileges in schema public grant usage, select on sequences to ${quoted};
    `),
  );
  return role;
}
