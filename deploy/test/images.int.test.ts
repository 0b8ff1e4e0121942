import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
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
const PACKAGE = {
  gateway: '@parley/gateway',
  chat: '@parley/chat',
  ai: '@parley/ai',
  hitl: '@parley/hitl',
  voice: '@parley/voice',
  embedding: '@parley/embedding',
} as const;
const PORTS = { gateway: 8080, chat: 8081, ai: 8082, hitl: 8083, embedding: 8084, voice: 8085 };
const NOBODY = { uid: 65534, gid: 65534 };

const pruned: string[] = [];
afterAll(async () => {
  for (const dir of pruned) await rm(dir, { recursive: true, force: true });
});

/** A Dockerfile's instructions, continuation lines joined, comments dropped. */
async function instructions(service: string): Promise<Array<[string, string]>> {
  return parseDockerfile(await readFile(join(REPO, 'services', service, 'Dockerfile'), 'utf8'));
}

function parseDockerfile(text: string): Array<[string, string]> {
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
    await run(
      'pnpm',
      ['--filter', PACKAGE[service], 'deploy', '--legacy', '--prod', '--offline', out],
      {
        cwd: REPO,
        maxBuffer: 16 * 1024 * 1024,
        // Killed (and its output shown) rather than left behind when it hangs.
        timeout: 150_000,
      },
    );
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
    // The patched kafkajs (pnpm-workspace.yaml's patchedDependencies), not the registry's.
    for (const dir of installed.filter((name) => name.startsWith('kafkajs@'))) {
      const queue = join(out, 'node_modules', '.pnpm', dir, 'node_modules', 'kafkajs', 'src');
      expect(await readFile(join(queue, 'network', 'requestQueue', 'index.js'), 'utf8')).toContain(
        'nothing pending and not throttled',
      );
    }

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

/**
 * parley-dr's image (packages/dr/Dockerfile, written by hand: it carries
 * Postgres's client programs). Checked for what it promises, then its build
 * stage is replayed: the pruned tree runs the CLI as an unprivileged user
 * (the WAL stream and backups themselves run in packages/dr's tests).
 */
describe('the parley-dr image', () => {
  it('is built in two stages, with the client programs from the PostgreSQL project’s signed repository, non-root, no secret baked in', async () => {
    const steps = parseDockerfile(await readFile(join(REPO, 'packages/dr/Dockerfile'), 'utf8'));
    const froms = steps.filter(([k]) => k === 'FROM').map(([, v]) => v);
    expect(froms).toEqual([
      'node:${NODE_VERSION}-bookworm-slim AS build',
      'node:${NODE_VERSION}-bookworm-slim',
    ]);
    const final = steps.slice(steps.findIndex(([k, v]) => k === 'FROM' && v === froms[1]));
    const install = final.find(([k, v]) => k === 'RUN' && v.includes('postgresql-client'))![1];
    expect(install).toContain('signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.gpg');
    expect(install).toMatch(/grep -q "\^fpr:::::::::\$\{PGDG_KEY_FINGERPRINT\}:"/);
    expect(install).toContain('"postgresql-client-${PG_MAJOR}"');
    expect(final.find(([k]) => k === 'ENV')?.[1]).toContain(
      'PARLEY_PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin',
    );
    expect(final.filter(([k]) => k === 'USER').map(([, v]) => v)).toEqual(['999:999']);
    expect(JSON.parse(final.find(([k]) => k === 'ENTRYPOINT')![1])).toEqual([
      'node',
      '/app/dist/cli.js',
    ]);
    expect(final.filter(([k]) => k === 'COPY').map(([, v]) => v)).toEqual(['--from=build /out ./']);
    const all = steps.map(([k, v]) => `${k} ${v}`).join('\n');
    expect(all).toContain('--filter=@parley/dr deploy --legacy --prod');
    for (const [keyword, value] of steps.filter(([k]) => k === 'ENV' || k === 'ARG'))
      expect(`${keyword} ${value}`).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|_URL/);
  });

  it('runs from its pruned production tree, as a user who cannot write to it', async () => {
    const out = await mkdtemp(join(tmpdir(), 'parley-image-dr-'));
    pruned.push(out);
    await rm(out, { recursive: true });
    await run(
      'pnpm',
      ['--filter', '@parley/dr', 'deploy', '--legacy', '--prod', '--offline', out],
      {
        cwd: REPO,
        maxBuffer: 16 * 1024 * 1024,
        // Killed (and its output shown) rather than left behind when it hangs.
        timeout: 150_000,
      },
    );
    await chmod(out, 0o755);
    const installed = await readdir(join(out, 'node_modules', '.pnpm'));
    for (const dev of ['vitest@', 'typescript@', '@parley+testing'])
      expect(
        installed.filter((name) => name.startsWith(dev)),
        dev,
      ).toEqual([]);
    const storage = await mkdtemp(join(tmpdir(), 'parley-image-dr-storage-'));
    pruned.push(storage);
    await chmod(storage, 0o777);
    const cli = (...args: string[]) =>
      run(process.execPath, [join(out, 'dist', 'cli.js'), ...args], {
        env: { PATH: process.env.PATH, PARLEY_BACKUP_DIR: storage },
        uid: NOBODY.uid,
        gid: NOBODY.gid,
      });
    expect((await cli('backup', 'prune')).stdout).toMatch(/^pruned 0 backups/);
    // Its usage errors name what is missing.
    await expect(cli('wal-stream', '--spool', '/tmp/x')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('PARLEY_PG_REPLICATION_URL is not set'),
    });
  }, 180_000);
});

describe('the Dockerfiles', () => {
  it('are all written from deploy/Dockerfile.template (one per service, one source)', async () => {
    const { stdout } = await run('node', [join(REPO, 'deploy/dockerfiles.mjs'), '--check']);
    expect(stdout).toBe('');
  });

  it('run the Node.js line the scripts and tests run on (.node-version)', async () => {
    const pinned = (await readFile(join(REPO, '.node-version'), 'utf8')).trim();
    // The pinned release or a later one of its line (a machine's own newer patch is kept).
    expect(process.versions.node.split('.')[0]).toBe(pinned.split('.')[0]);
    for (const file of ['deploy/Dockerfile.template', 'packages/dr/Dockerfile']) {
      const text = await readFile(join(REPO, file), 'utf8');
      expect(text, file).toContain(`ARG NODE_VERSION=${pinned.split('.')[0]}\n`);
    }
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

/**
 * The offline recognizer's image (services/voice/local-stt/Dockerfile, written
 * by hand: Python, not the services' template). Checked for what it promises,
 * then replayed: its model-assembly step runs against the venv scripts/infra
 * installed from the same requirements.txt (same pip flags), and the server
 * starts with the run stage's interpreter, environment and command, mapped to
 * those local paths. Debian 12's /usr/bin/python3.11, where there is one, is
 * the interpreter distroless python3-debian12 ships.
 */
describe('the local-stt image', () => {
  const DIR = join(REPO, 'services/voice/local-stt');
  const stt: { dir?: string; proc?: ReturnType<typeof spawn> } = {};
  afterAll(async () => {
    stt.proc?.kill('SIGKILL');
    if (stt.dir) await rm(stt.dir, { recursive: true, force: true });
  });

  /** Instructions with their text as written (continuations joined, spacing kept). */
  async function raw(): Promise<Array<[string, string]>> {
    const text = await readFile(join(DIR, 'Dockerfile'), 'utf8');
    return text
      .replace(/\\\n/g, '')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => {
        const match = /^\s*(\S+)\s+(.*)$/.exec(l)!;
        return [match[1]!.toUpperCase(), match[2]!.trim()];
      });
  }
  const stages = async () => {
    const steps = await raw();
    const second = steps.findIndex(([k], i) => k === 'FROM' && i > 0);
    return { build: steps.slice(0, second), final: steps.slice(second), steps };
  };
  const args = (steps: Array<[string, string]>) =>
    Object.fromEntries(
      steps.filter(([k]) => k === 'ARG').map(([, v]) => v.split('=', 2) as [string, string]),
    );

  it('is built in two stages, from hashed requirements, into a distroless non-root Python image with no secret baked in', async () => {
    const { build, final, steps } = await stages();
    const froms = steps.filter(([k]) => k === 'FROM').map(([, v]) => v);
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(
      /^(--platform=linux\/amd64 )?python:3\.11(\.\d+)?-slim-bookworm AS build$/,
    );
    expect(froms[1]).toMatch(
      /^(--platform=linux\/amd64 )?gcr\.io\/distroless\/python3-debian12:nonroot$/,
    );
    const installs = build.filter(([k, v]) => k === 'RUN' && v.includes(' install '));
    expect(installs).toHaveLength(1);
    expect(installs[0]![1]).toMatch(/--require-hashes .*-r \/tmp\/requirements\.txt/);
    // The file pins every dependency: hash-checking mode proves it complete, --no-deps would not.
    expect(installs[0]![1]).not.toContain('--no-deps');
    // The model it rebuilds is the one scripts/infra checks.
    const infra = await readFile(join(REPO, 'scripts/infra.d/local-stt.sh'), 'utf8');
    expect(args(build).MODEL_SHA256).toBe(/^STT_MODEL_SHA256=([0-9a-f]{64})$/m.exec(infra)![1]);

    expect(final.filter(([k]) => k === 'USER').map(([, v]) => v)).toEqual(['65532:65532']);
    expect(final.find(([k]) => k === 'EXPOSE')?.[1]).toBe('8090');
    expect(JSON.parse(final.find(([k]) => k === 'ENTRYPOINT')![1])).toEqual([
      '/usr/bin/python3.11',
    ]);
    const cmd = JSON.parse(final.find(([k]) => k === 'CMD')![1]) as string[];
    expect(cmd[0]).toMatch(/\/server\.py$/);
    expect(cmd.slice(1, 5)).toEqual(['--host', '0.0.0.0', '--port', '8090']);
    // Only the runtime, the model and the server reach the final image.
    expect(final.filter(([k]) => k === 'COPY').map(([, v]) => v.split(/\s+/).at(-2))).toEqual([
      `${args(build).VENV}/lib/python3.11/site-packages`,
      args(build).MODEL_DIR,
      'server.py',
    ]);
    for (const [keyword, value] of steps.filter(([k]) => k === 'ENV' || k === 'ARG'))
      expect(`${keyword} ${value}`).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|_URL/);
    // Its build context is its own folder, cut down to what it copies.
    const ignored = (await readFile(join(DIR, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(['*', '!requirements.txt', '!server.py']);
  });

  it('rebuilds the model as its build stage does, and serves it as its run stage does', async () => {
    const { build, final } = await stages();
    const cache =
      process.env.PARLEY_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'parley');
    const venv = join(cache, 'local-stt/venv');
    const requirements = await readFile(join(DIR, 'requirements.txt'));
    const stamp = join(venv, '.requirements.sha256');
    if (!existsSync(stamp))
      throw new Error(`no local-stt venv in ${venv}: run scripts/infra install`);
    expect((await readFile(stamp, 'utf8')).trim(), 'run scripts/infra install').toBe(
      createHash('sha256').update(requirements).digest('hex'),
    );
    const { VENV, MODEL_DIR, MODEL_SHA256 } = args(build) as Record<string, string>;
    stt.dir = await mkdtemp(join(tmpdir(), 'parley-image-local-stt-'));
    const model = join(stt.dir, 'whisper-base');

    // The build stage's assembly, word for word, with its ARGs pointing here.
    const assemble = build.find(([k, v]) => k === 'RUN' && v.includes('sha256sum'))![1];
    const { stdout } = await run('sh', ['-c', assemble], {
      env: { PATH: process.env.PATH, VENV: venv, MODEL_DIR: model, MODEL_SHA256 },
    });
    expect(stdout).toContain(`${model}/model.bin: OK`);
    expect((await readdir(model)).sort()).toEqual([
      'config.json',
      'model.bin',
      'tokenizer.json',
      'vocabulary.txt',
    ]);

    // The run stage: its COPY destinations mapped to where those files are here.
    const places = final
      .filter(([k]) => k === 'COPY')
      .map(([, v]): [string, string] => {
        const words = v.split(/\s+/);
        const [source, target] = words.slice(-2) as [string, string];
        return words[0] === '--from=build'
          ? [target, source.replace(VENV!, venv).replace(MODEL_DIR!, model)]
          : [target, join(DIR, source)];
      });
    const local = (value: string) => {
      for (const [image, here] of places)
        if (value === image || value.startsWith(`${image}/`))
          return here + value.slice(image.length);
      return value;
    };
    const env = Object.fromEntries(
      final
        .filter(([k]) => k === 'ENV')
        .flatMap(([, v]) => v.split(/\s+/))
        .map((pair) => pair.split('=', 2) as [string, string])
        .map(([k, v]) => [k, local(v)]),
    );
    expect(env.PYTHONPATH).toBe(join(venv, 'lib/python3.11/site-packages'));
    const [python] = JSON.parse(final.find(([k]) => k === 'ENTRYPOINT')![1]) as string[];
    const interpreter = existsSync(python!) ? python! : join(venv, 'bin/python');
    const cmd = (JSON.parse(final.find(([k]) => k === 'CMD')![1]) as string[]).map(local);
    cmd[cmd.indexOf('--port') + 1] = '0'; // any free port; the server logs which
    const proc = spawn(interpreter, cmd, {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', LOCAL_STT_THREADS: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    stt.proc = proc;
    let log = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local-stt did not start:\n${log}`)), 60_000);
      proc.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const match = /listening on http:\/\/0\.0\.0\.0:(\d+)\/v1/.exec(log);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      proc.on('exit', (code) => reject(new Error(`local-stt exited (${code}):\n${log}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', model: 'whisper-base' });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    stt.proc = undefined;
  }, 120_000);
});
