import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import { PgDatabase } from './pg-database.js';
import type { PgRouterOptions } from './router.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: PgDatabase;
  }
}

async function postgres(
  app: FastifyInstance,
  options: Omit<PgRouterOptions, 'onError'>,
): Promise<void> {
  const db = new PgDatabase({
    ...options,
    onError: (err, pool) => app.log.warn({ err, pool }, 'Postgres pool error'),
  });
  await db.check();
  app.decorate('db', db);
  app.readiness.add('postgres', async () => ({
    ...(await db.check()),
    replicaLagMs: db.router.replicaLag(),
  }));
  app.addHook('onClose', () => db.close());
}

/**
 * Connects to the primary and replicas while registering (failing boot if the
 * primary is unreachable) and decorates `app.db`.
 */
export const postgresPlugin = fp(postgres, { name: 'parley-postgres', fastify: '5.x' });
