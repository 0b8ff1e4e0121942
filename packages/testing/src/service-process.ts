import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The entry point (`<name>/main`) of a workspace service, resolved from the
 * package holding `from` (a test's `import.meta.url`):
 *
 * ```ts
 * const hitl = await startServiceProcess(serviceEntry('@parley/hitl', import.meta.url), { env });
 * ```
 *
 * Throws unless that package's package.json declares `name`: turbo builds only
 * declared dependencies before a package's tests, so an undeclared one runs
 * only where an earlier build happened to leave its `dist/` behind. Name the
 * package in full, as a string: the workspace dependency check
 * (`packages/testing/test/workspace-deps.test.ts`) reads these names.
 */
export function serviceEntry(name: `@parley/${string}`, from: string | URL): string {
  let dir = dirname(fileURLToPath(from));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`serviceEntry: no package.json above ${from}`);
    dir = dirname(dir);
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name?: string;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (pkg.name !== name && !pkg.dependencies?.[name] && !pkg.devDependencies?.[name])
    throw new Error(
      `${pkg.name} starts ${name}, which ${join(dir, 'package.json')} does not declare: ` +
        `add "${name}": "workspace:*" to its devDependencies so that turbo builds it first`,
    );
  return createRequire(join(dir, 'package.json')).resolve(`${name}/main`);
}

/** A service started as a real child process, as Kubernetes would start it. */
export interface ServiceProcess {
  /** `http://127.0.0.1:<port>` once the service listens. */
  baseUrl: string;
  child: ChildProcess;
  /** Every JSON log line the process printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; elapsedMs: number }>;
}

/** Options for {@link startServiceProcess}. */
export interface StartServiceOptions {
  /** Extra environment (merged over a minimal base: PATH, HOME). */
  env: Record<string, string>;
  /** How long to wait for the listen log line, and then for readiness. @default 20000 */
  startTimeoutMs?: number;
  /**
   * Also wait until `/readyz` answers 200 without an essential dependency
   * down (workers join their consumer groups after the server listens). @default true
   */
  waitReady?: boolean;
  /** Run as this user and group (with util-linux `setpriv`), as a container's non-root user would. */
  runAs?: { uid: number; gid: number };
}

/**
 * Starts `node <entry>` with `PORT=0` and resolves once the service logs the
 * address it listens on (fastify's `Server listening at ...` line) and, unless
 * `waitReady` is false, `/readyz` answers 200 with no essential dependency down.
 */
export async function startServiceProcess(
  entry: string,
  { env, startTimeoutMs = 20_000, waitReady = true, runAs }: StartServiceOptions,
): Promise<ServiceProcess> {
  const [program, ...args] = runAs
    ? ['setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups', '--']
    : [];
  const child = spawn(
    program ?? process.execPath,
    [...args, ...(program ? [process.execPath] : []), entry],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`did not listen within ${startTimeoutMs} ms`),
      startTimeoutMs,
    );
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new Error(
          `${entry} ${why}\nstderr: ${stderr.join('')}\nlogs: ${JSON.stringify(logs.slice(-10))}`,
        ),
      );
    }
    void exited.then(([code]) => fail(`exited with code ${code} before listening`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(record);
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(
        String(record.msg ?? ''),
      );
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });

  if (waitReady) {
    const deadline = Date.now() + startTimeoutMs;
    let last = '';
    for (;;) {
      const res = await fetch(`${baseUrl}/readyz`).catch((err: Error) => err);
      const body = res instanceof Error ? res.message : await res.text();
      // Ready, and no essential dependency down: its consumers have joined their groups
      // (which leave the pod ready while they join, since they wait on the shared Kafka).
      if (!(res instanceof Error) && res.status === 200 && !body.includes('"state":"critical"'))
        break;
      last = body;
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`${entry} was not ready within ${startTimeoutMs} ms: ${last}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    baseUrl,
    child,
    logs,
    async stop(signal = 'SIGTERM') {
      const started = Date.now();
      if (child.exitCode === null) child.kill(signal);
      const [code] = await exited;
      return { code, elapsedMs: Date.now() - started };
    },
  };
}
