/**
 * Coverage-guided fuzzing of Parley's boundary parsers with Jazzer.js
 * (libFuzzer): widget frames, session request bodies, Kafka envelopes and
 * Twilio media-stream messages, each from its regression corpus.
 *
 * ```ts
 * import { fuzzTargets, runFuzzTarget } from '@parley/fuzz';
 * const report = await runFuzzTarget(fuzzTargets[0]!, { workDir: '/tmp/fuzz', runs: 10_000 });
 * report.findings; // [] when no input crashed the parser
 * ```
 *
 * Long runs: `pnpm --filter @parley/fuzz fuzz [target...] --time 600`.
 *
 * Each target is bundled (esbuild) into one CommonJS file, since Jazzer.js 2
 * instruments CommonJS only, and runs in its own process. Jazzer.js's native
 * addon is compiled on first use from the npm package's C++ source with g++
 * against Debian's stock libFuzzer (`libclang-rt-dev`) and the shim in
 * `native/`: its prebuilt binaries come from GitHub releases, out of reach
 * here, and those of Jazzer.js 4 need a newer glibc than Debian 12's.
 */
export { fuzzTargets, type FuzzTargetInfo } from './targets.js';
export {
  runFuzzTarget,
  type FuzzRunOptions,
  type FuzzReport,
  type Coverage,
  type Finding,
} from './runner.js';
export { saveRegression, seedCorpus } from './corpus.js';
export { ensureJazzerAddon } from './addon.js';
