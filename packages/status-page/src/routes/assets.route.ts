import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * Serves the page's `/status.js` and `/status.css`: one route per file, so
 * the host's own files under `/` (the gateway's widget) stay its own.
 */
export async function assetsRoute(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    wildcard: false,
    index: false,
    // The host may have its own `reply.sendFile`.
    decorateReply: false,
    maxAge: 60_000,
    serveDotFiles: false,
  });
}
