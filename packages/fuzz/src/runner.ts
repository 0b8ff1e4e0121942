import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { ensureJazzerAddon } from './addon.js';
import { seedCorpus } from './corpus.js';
import { FINDINGS_DIR_ENV, type FindingRecord } from './harness.js';
import type { FuzzTargetInfo } from './targets.js';

/** Options for {@link runFuzzTarget}. */
export interface FuzzRunOptions {
  /** Where the bundle, findings, artifacts and log go. */
  workDir: string;
  /** The working corpus: seeded from the regression corpus, grown by libFuzzer. @default `<workDir>/corpus` */
  corpusDir?: string;
  /** Executions in all, the seeds included (libFuzzer's `-runs`; -1: no bound). @default 20000 */
  runs?: number;
  /** Stops after this many seconds (libFuzzer's `-max_total_time`; 0: no bound). @default 0 */
  maxTotalTimeS?: number;
  /** libFuzzer's random seed; 0 picks one. A fixed seed makes a bounded run repeatable. @default 0 */
  seed?: number;
  /** An input running longer than this is a finding (a timeout). @default 5000 */
  timeoutMs?: number;
  /** Inputs up to this size. @default 16384 */
  maxLenBytes?: number;
  /** The run is killed (and reported with a null exit code) past this. @default maxTotalTimeS + 2 min, or 10 min */
  deadlineMs?: number;
  /** Each line Jazzer/libFuzzer prints, as it comes (the log file has them all). */
  onLine?(line: string): void;
}

/** libFuzzer's coverage figures at one point of a run. */
export interface Coverage {
  /** Instrumented edges of the JavaScript under test that ran. */
  edges: number;
  /** libFuzzer's features: edges with hit-count buckets and comparisons. */
  features: number;
  /** Inputs in the corpus. */
  corpus: number;
}

/** A finding: the input and what it broke. */
export interface Finding {
  input: Buffer;
  error: string;
  stack: string;
}

/** What one run found and how far it got. */
export interface FuzzReport {
  target: string;
  exitCode: number | null;
  executions: number;
  /** Executions per second after the seeds ran (the start-up, mostly instrumenting, left out). */
  execsPerSecond: number;
  /** The run's wall time, start-up included. */
  seconds: number;
  /** Coverage once the seed corpus ran. */
  seeded: Coverage;
  /** Coverage at the end. */
  final: Coverage;
  /** Inputs that crashed the target or broke an invariant. */
  findings: Finding[];
  /** Crash, timeout or out-of-memory inputs libFuzzer wrote itself (`crash-<sha1>`...). */
  artifacts: string[];
  /** The run's full output. */
  logFile: string;
}

const require = createRequire(import.meta.url);
const jazzerCli = join(dirname(require.resolve('@jazzer.js/core/package.json')), 'dist/cli.js');
const STATS = /^#(\d+)\s+(INITED|DONE|NEW|REDUCE|pulse)\s+cov: (\d+) ft: (\d+) corp: (\d+)\//;

/**
 * zod's error messages in 40 languages are half its size and none of the
 * parsers' logic: the bundle keeps English only (the default), which halves
 * the code Jazzer instruments at each start.
 */
const englishOnly: Plugin = {
  name: 'zod-english-only',
  setup(on) {
    on.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/zod/')
        ? { path: join(args.resolveDir, args.path), namespace: 'zod-locales' }
        : undefined,
    );
    on.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from './en.js';`,
      resolveDir: dirname(args.path),
    }));
  },
};

/** Bundles a target and its parsers into one CommonJS file, which Jazzer.js 2 instruments whole. */
async function bundle(target: FuzzTargetInfo, outFile: string): Promise<void> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  await build({
    entryPoints: [
      target.entry ??
        fileURLToPath(new URL(`./targets/${target.name}.fuzz.${ext}`, import.meta.url)),
    ],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    plugins: [englishOnly],
    logLevel: 'error',
  });
}

/**
 * Runs Jazzer.js (libFuzzer, coverage-guided) on one target in its own
 * process, bounded by `runs` and/or `maxTotalTimeS`, and reads back its
 * coverage and findings.
 */
export async function runFuzzTarget(
  target: FuzzTargetInfo,
  options: FuzzRunOptions,
): Promise<FuzzReport> {
  const work = join(options.workDir, target.name);
  const findingsDir = join(work, 'findings');
  const artifactsDir = join(work, 'artifacts');
  rmSync(findingsDir, { recursive: true, force: true });
  rmSync(artifactsDir, { recursive: true, force: true });
  mkdirSync(artifactsDir, { recursive: true });
  const corpusDir = options.corpusDir ?? join(work, 'corpus');
  seedCorpus(target, corpusDir);
  const bundleFile = join(work, `${target.name}.fuzz.cjs`);
  await Promise.all([ensureJazzerAddon(), bundle(target, bundleFile)]);

  const args = [
    jazzerCli,
    bundleFile,
    corpusDir,
    '--sync',
    // Prototype pollution is checked by the harness; the other detectors are for shells and files.
    '--disable_bug_detectors=.*',
    `--timeout=${options.timeoutMs ?? 5_000}`,
    '--',
    `-runs=${options.runs ?? 20_000}`,
    `-max_total_time=${options.maxTotalTimeS ?? 0}`,
    `-seed=${options.seed ?? 0}`,
    `-max_len=${options.maxLenBytes ?? 16_384}`,
    `-artifact_prefix=${artifactsDir}/`,
    '-print_final_stats=1',
  ];
  const deadlineMs =
    options.deadlineMs ?? (options.maxTotalTimeS ? (options.maxTotalTimeS + 120) * 1000 : 600_000);
  const logFile = join(work, 'fuzz.log');
  const log = createWriteStream(logFile);
  const stats: Array<{ kind: string; runs: number; coverage: Coverage; atMs: number }> = [];
  const finalStats = new Map<string, number>();
  const started = Date.now();
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: work,
      env: { ...process.env, [FINDINGS_DIR_ENV]: findingsDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        options.onLine?.(line);
        const m = STATS.exec(line);
        if (m)
          stats.push({
            kind: m[2]!,
            runs: Number(m[1]),
            coverage: { edges: Number(m[3]), features: Number(m[4]), corpus: Number(m[5]) },
            atMs: performance.now(),
          });
        const stat = /^stat::(\w+):\s+(\d+)/.exec(line);
        if (stat) finalStats.set(stat[1]!, Number(stat[2]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve(code);
    });
  });
  await new Promise((resolve) => log.end(resolve));
  const seconds = (Date.now() - started) / 1000;

  const none: Coverage = { edges: 0, features: 0, corpus: 0 };
  const inited = stats.find((s) => s.kind === 'INITED');
  const last = stats.at(-1);
  const executions = finalStats.get('number_of_executed_units') ?? last?.runs ?? 0;
  // libFuzzer's own figure is in whole seconds (0 for a short run): time the lines instead.
  const fuzzingMs = inited && last ? last.atMs - inited.atMs : 0;
  const execsPerSecond =
    inited && last && fuzzingMs > 0
      ? Math.round(((last.runs - inited.runs) * 1000) / fuzzingMs)
      : 0;
  const findings = existsSync(findingsDir)
    ? readdirSync(findingsDir).map((f) => {
        const record = JSON.parse(readFileSync(join(findingsDir, f), 'utf8')) as FindingRecord;
        return {
          input: Buffer.from(record.input, 'base64'),
          error: record.error,
          stack: record.stack,
        };
      })
    : [];
  return {
    target: target.name,
    exitCode,
    executions,
    execsPerSecond,
    seconds,
    seeded: inited?.coverage ?? none,
    final: last?.coverage ?? none,
    findings,
    artifacts: readdirSync(artifactsDir).map((f) => join(artifactsDir, f)),
    logFile,
  };
}
