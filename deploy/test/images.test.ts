import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEnv, startServiceProcess, uniqueName } from '@parley/testing';
import { REPO } from './tools.js';

/**
 * The services' images. No Docker engine runs here, so each Dockerfile is
 * checked for what it promises (multi-stage, distroless, non-root, no
 * secrets), and its build stage is replayed: `pnpm deploy --prod` prunes the
 * service as the image does, and the pruned service starts from that tree as
 * an unprivileged user that cannot write to it, against real Kafka, Postgres
 * and Redis.
 */
const run = promisify(execFile);
const SERVICES = ['gateway', 'chat', 'ai', 'hitl', 'voice', 'embedding'] as const;
const PORTS = { gateway: 8080, chat: 8081, ai: 8082, hitl: 8083, embedding: 8084, voice: 8085 };
const NOBODY = { uid: 65534, gid: 65534 };

const pruned: string[] = [];
afterAll(async () => {
  for (const dir of pruned) await rm(dir, { recursive: true, force: true });
});

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
async function instructions(service: string): Promise<Array<[string, string]>> {
  const text = await readFile(join(REPO, 'services', service, 'Dockerfile'), 'utf8');
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(' ')];
    });
}

describe.each(SERVICES)('the %s image', (service) => {
  it('is built in two stages into a distroless non-root image, with no secret baked in', async () => {
    const steps = await instructions(service);
    const froms = steps.filter(([k]) => k === 'FROM').map(([, v]) => v);
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/^node:\S+ AS build$/);
    expect(froms[1]).toMatch(/^gcr\.io\/distroless\/nodejs\S+:nonroot$/);
    const final = steps.slice(steps.findIndex(([k, v]) => k === 'FROM' && v === froms[1]));
    expect(final.filter(([k]) => k === 'USER').map(([, v]) => v)).toEqual(['nonroot']);
    expect(final.find(([k]) => k === 'EXPOSE')?.[1]).toBe(String(PORTS[service]));
    expect(final.find(([k]) => k === 'CMD')?.[1]).toBe('["dist/main.js"]');
    // Only the pruned service reaches the final image.
    expect(final.filter(([k]) => k === 'COPY').map(([, v]) => v)).toEqual(['--from=build /out ./']);
    const build = steps.map(([k, v]) => `${k} ${v}`).join('\n');
    expect(build).toContain(`--filter=@parley/${service} deploy --legacy --prod`);
    expect(build).toContain('--frozen-lockfile');
    for (const [keyword, value] of steps.filter(([k]) => k === 'ENV' || k === 'ARG'))
      expect(`${keyword} ${value}`).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|_URL/);
  });

  it('starts from its pruned production tree, as a user who cannot write to it', async () => {
    const out = await mkdtemp(join(tmpdir(), `parley-image-${service}-`));
    pruned.push(out);
    await rm(out, { recursive: true });
    await run('pnpm', ['--filter', `@parley/${service}`, 'deploy', '--legacy', '--prod', out], {
      cwd: REPO,
      maxBuffer: 16 * 1024 * 1024,
    });
    await chmod(out, 0o755);
    // Production dependencies only: no test tooling, compilers or sources.
    const installed = await readdir(join(out, 'node_modules', '.pnpm'));
    for (const dev of ['vitest@', 'typescript@', '@parley+testing', 'playwright-core@', 'eslint@'])
      expect(
        installed.filter((name) => name.startsWith(dev)),
        dev,
      ).toEqual([]);
    expect(existsSync(join(out, 'src'))).toBe(false);
    expect(existsSync(join(out, 'dist', 'main.js'))).toBe(true);

    const env = {
      ...serviceEnv({ isolate: uniqueName('image') }),
      // Secrets come from the environment at run time, never from the image.
      OPENAI_API_KEY: '',
    };
    const proc = await startServiceProcess(join(out, 'dist', 'main.js'), {
      env,
      runAs: NOBODY,
      startTimeoutMs: 60_000,
    });
    try {
      const health = await fetch(`${proc.baseUrl}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${proc.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await proc.stop('SIGTERM');
    }
  }, 180_000);
});

describe('the Dockerfiles', () => {
  it('are all written from deploy/Dockerfile.template (one per service, one source)', async () => {
    const { stdout } = await run('node', [join(REPO, 'deploy/dockerfiles.mjs'), '--check']);
    expect(stdout).toBe('');
  });
});

describe('the build context', () => {
  it('leaves out outputs, local state and secrets, and keeps every package.json', async () => {
    const ignored = (await readFile(join(REPO, '.dockerignore'), 'utf8')).split('\n');
    for (const entry of ['.git', '.infra', '**/node_modules', '**/dist', '**/.env', '**/.env.*'])
      expect(ignored).toContain(entry);
    expect(
      ignored.filter((l) => !l.startsWith('#')).some((l) => /package\.json|^bench|^deploy/.test(l)),
    ).toBe(false);
  });
});
