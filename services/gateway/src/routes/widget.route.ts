import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/** Serves the embeddable `/widget.js` and the demo page at `/`. */
export async function widgetRoute(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    index: ['index.html'],
    maxAge: 60_000,
    serveDotFiles: false,
  });
}
