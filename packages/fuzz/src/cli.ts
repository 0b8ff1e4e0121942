#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { saveRegression } from './corpus.js';
import { runFuzzTarget } from './runner.js';
import { fuzzTargets } from './targets.js';

const usage = `Usage: parley-fuzz [target...] [--time SECONDS] [--runs N] [--seed N] [--no-save] [--verbose]

Fuzzes each target (all by default: ${fuzzTargets.map((t) => t.name).join(', ')}) with
Jazzer.js for --time seconds (default 60), growing a working corpus in
~/.cache/parley/fuzz/<target>. Inputs that crash a parser are added to its
regression corpus (packages/testing/fuzz-corpus/<target>.jsonl) unless --no-save;
the exit code is 1 if any was found.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    time: { type: 'string', default: '60' },
    runs: { type: 'string', default: '-1' },
    seed: { type: 'string', default: '0' },
    'no-save': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.info(usage);
  process.exit(0);
}
const unknown = positionals.filter((name) => !fuzzTargets.some((t) => t.name === name));
if (unknown.length > 0) {
  console.error(`Unknown target ${unknown.join(', ')}\n\n${usage}`);
  process.exit(2);
}
const chosen =
  positionals.length > 0 ? fuzzTargets.filter((t) => positionals.includes(t.name)) : fuzzTargets;
const workDir = join(homedir(), '.cache/parley/fuzz');

let found = 0;
for (const target of chosen) {
  console.info(`${target.name}: fuzzing ${target.parser} for ${values.time} s`);
  const report = await runFuzzTarget(target, {
    workDir,
    corpusDir: join(workDir, target.name, 'corpus'),
    runs: Number(values.runs),
    maxTotalTimeS: Number(values.time),
    seed: Number(values.seed),
    onLine: (line) => {
      if (values.verbose || /^#\d+\s+(INITED|DONE|pulse)/.test(line)) console.info(`  ${line}`);
    },
  });
  console.info(
    `${target.name}: ${report.executions} executions at ${report.execsPerSecond}/s; ` +
      `edges ${report.seeded.edges} -> ${report.final.edges}, features ${report.seeded.features} -> ${report.final.features}, ` +
      `corpus ${report.seeded.corpus} -> ${report.final.corpus} (log: ${report.logFile})`,
  );
  const inputs = report.findings.map((f) => ({ input: f.input, why: `${f.error}\n${f.stack}` }));
  for (const file of report.artifacts) {
    inputs.push({ input: readFileSync(file), why: `libFuzzer wrote ${file}` });
  }
  if (report.exitCode !== 0 && report.artifacts.length === 0)
    inputs.push({ input: Buffer.alloc(0), why: `Jazzer exited with ${report.exitCode}` });
  for (const { input, why } of inputs) {
    found++;
    const saved = !values['no-save'] && input.length > 0 && saveRegression(target, input);
    console.error(
      `${target.name}: FINDING ${why}\n  input: ${JSON.stringify(input.toString('utf8')).slice(0, 500)}` +
        (saved ? `\n  added to the regression corpus ${target.corpus}.jsonl` : ''),
    );
  }
}
process.exit(found > 0 ? 1 : 0);
