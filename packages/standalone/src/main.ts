#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from '@parley/service-kit/launch';
import { configSpec } from './config.js';

/**
 * A signing secret: the variable when set, else one made on first start and
 * kept (mode 0600) beside the data, so visitors keep their conversations and
 * agents their sign-in across restarts.
 */
function keptSecret(env: NodeJS.ProcessEnv, variable: string, fileName: string): string {
  if (env[variable]) return env[variable];
  const dataDir = env.PARLEY_DATA_DIR || '.parley/data';
  if (dataDir === ':memory:') return randomBytes(32).toString('base64url');
  const file = join(dataDir, '..', fileName);
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
    env: {
      ...process.env,
      PARLEY_SESSION_SECRET: keptSecret(process.env, 'PARLEY_SESSION_SECRET', 'session-secret'),
      PARLEY_AGENT_SECRET: keptSecret(process.env, 'PARLEY_AGENT_SECRET', 'agent-secret'),
    },
    app: () => import('./platform.js'),
  }),
);
