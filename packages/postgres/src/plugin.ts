import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import { PgDatabase } from './pg-database.js';
import type { PgRouterOptions } from './router.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: PgDatabase;
  }
}

async function postgres(
  app: FastifyInstance,
  options: Omit<PgRouterOptions, 'onError' | 'onTopology'>,
): Promise<void> {
  const registers = app.hasDecorator('metrics') ? [app.metrics] : [];
  const writerChanges = new Counter({
    name: 'pg_writer_changes_total',
    help: 'Times writes moved to another Postgres node (a replica was promoted)',
    labelNames: ['to'],
    registers,
  });
  const db = new PgDatabase({
    ...options,
    onError: (err, pool) => app.log.warn({ err, pool }, 'Postgres pool error'),
    onTopology: (event) => {
      if (event.kind === 'writer_changed') {
        writerChanges.inc({ to: event.to });
        app.log.warn(event, 'Postgres writes moved to another node');
      } else app.log.error(event, 'More than one Postgres node takes writes');
    },
  });
  await db.check();
  app.decorate('db', db);
  app.ports.provide({ db });
  // Shared by every pod of the region: an outage degrades the pod, it stays in its Service.
  app.readiness.add(
    'postgres',
    async () => ({ ...(await db.check()), replicaLagMs: db.router.replicaLag() }),
    { shared: true },
  );
  // The replicas' lag, sampled by the router (the ParleyReplicaLag alert reads it).
  new Gauge({
    name: 'pg_replica_lag_seconds',
    help: 'Replication lag of each Postgres replica at its last sample, in seconds',
    labelNames: ['replica'],
    registers,
    collect() {
      for (const [replica, ms] of Object.entries(db.router.replicaLag()))
        this.set({ replica }, ms / 1000);
    },
  });
  app.addHook('onClose', () => db.close());
}

/**
 * Connects to the primary and replicas while registering (failing boot if the
 * primary is unreachable) and decorates `app.db` (and provides `app.ports.db`).
 */
export const postgresPlugin = fp(postgres, { name: 'parley-postgres', fastify: '5.x' });
