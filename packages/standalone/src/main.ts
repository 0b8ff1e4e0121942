#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '@parley/service-kit/launch';
import { configSpec } from './config.js';

/**
 * The session-signing secret: PARLEY_SESSION_SECRET when set, else one made
 * on first start and kept (mode 0600) beside the data, so visitors keep their
 * conversations across restarts.
 */
function sessionSecret(env: NodeJS.ProcessEnv): string {
  if (env.PARLEY_SESSION_SECRET) return env.PARLEY_SESSION_SECRET;
  const dataDir = env.PARLEY_DATA_DIR || '.parley/data';
  if (dataDir === ':memory:') return randomBytes(32).toString('base64url');
  const file = join(dataDir, '..', 'session-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    mkdirSync(join(dataDir, '..'), { recursive: true });
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}

process.exit(
  await launch({
    service: 'parley',
    spec: configSpec,
    env: { ...process.env, PARLEY_SESSION_SECRET: sessionSecret(process.env) },
    app: () => import('./platform.js'),
  }),
);
