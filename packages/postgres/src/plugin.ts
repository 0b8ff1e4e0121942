import type { FastifyInstance } from 'fastify';
import type {} from '@parley/service-kit';
import fp from 'fastify-plugin';
import { PgRouter, type PgRouterOptions } from './router.js';

declare module 'fastify' {
  interface FastifyInstance {
    pg: PgRouter;
  }
}

async function postgres(
  app: FastifyInstance,
  options: Omit<PgRouterOptions, 'onError'>,
): Promise<void> {
  const router = new PgRouter({
    ...options,
    onError: (err, pool) => app.log.warn({ err, pool }, 'Postgres pool error'),
  });
  await router.check();
  app.decorate('pg', router);
  app.readiness.add('postgres', () => router.check());
  app.addHook('onClose', () => router.close());
}

/** Connects to the primary and replicas while registering (failing boot if the primary is unreachable). */
export const postgresPlugin = fp(postgres, { name: 'parley-postgres', fastify: '5.x' });
