#!/usr/bin/env node
// Writes each service's Dockerfile (services/<s>/Dockerfile) from
// deploy/Dockerfile.template: one file per service, as builders expect, with
// one source. `--check` exits 1 naming the stale ones (deploy/test/images.int.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Each service and the port it listens on (its config's PORT default). */
export const SERVICE_PORTS = {
  gateway: 8080,
  chat: 8081,
  ai: 8082,
  hitl: 8083,
  embedding: 8084,
  voice: 8085,
};

const template = readFileSync(join(REPO, 'deploy/Dockerfile.template'), 'utf8');
const stale = [];
for (const [service, port] of Object.entries(SERVICE_PORTS)) {
  const path = join(REPO, 'services', service, 'Dockerfile');
  const text = template.replaceAll('{{service}}', service).replaceAll('{{port}}', String(port));
  if (process.argv.includes('--check')) {
    if (readFileSync(path, 'utf8') !== text) stale.push(path);
  } else {
    writeFileSync(path, text);
  }
}
if (stale.length > 0) {
  console.error(`stale Dockerfiles (run node deploy/dockerfiles.mjs): ${stale.join(', ')}`);
  process.exit(1);
}
