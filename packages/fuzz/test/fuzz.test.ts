import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzzTarget, type FuzzReport } from '../src/runner.js';
import { fuzzTargets } from '../src/targets.js';

/**
 * A bounded coverage-guided run of each boundary parser (Jazzer.js on
 * libFuzzer), from the regression corpus: a fixed number of executions and a
 * fixed seed, so the run is the same each time. No input may crash a parser
 * or break its invariants, and the fuzzer must reach code the seeds did not
 * (the proof that its mutations follow coverage). Long runs:
 * `pnpm --filter @parley/fuzz fuzz`.
 */
const RUNS = 6_000;
const workDir = mkdtempSync(join(tmpdir(), 'parley-fuzz-'));
const reports: FuzzReport[] = [];

afterAll(() => {
  for (const r of reports)
    console.info(
      `${r.target}: ${r.executions} executions, ${r.execsPerSecond}/s; ` +
        `edges ${r.seeded.edges} -> ${r.final.edges}, features ${r.seeded.features} -> ${r.final.features}, ` +
        `corpus ${r.seeded.corpus} -> ${r.final.corpus}`,
    );
  rmSync(workDir, { recursive: true, force: true });
});

function describeFindings(report: FuzzReport): string[] {
  return report.findings.map(
    (f) =>
      `${f.error}\n${f.stack}\ninput (add to the regression corpus): ${JSON.stringify(f.input.toString('utf8'))}`,
  );
}

describe('coverage-guided fuzzing of the boundary parsers', () => {
  for (const target of fuzzTargets) {
    it(`finds no crash in ${target.parser} and covers more than its seeds`, async () => {
      const report = await runFuzzTarget(target, { workDir, runs: RUNS, seed: 1 });
      reports.push(report);
      expect(describeFindings(report)).toEqual([]);
      expect(report.artifacts).toEqual([]);
      expect(report.exitCode, `see ${report.logFile}`).toBe(0);
      expect(report.executions).toBeGreaterThanOrEqual(RUNS);
      expect(report.seeded.edges).toBeGreaterThan(0);
      expect(report.final.features).toBeGreaterThan(report.seeded.features);
      expect(report.final.corpus).toBeGreaterThan(report.seeded.corpus);
    });
  }
});

describe('the fuzzing harness', () => {
  // Random bytes would hit the six-byte prefix once in 2^48 tries: libFuzzer
  // finds it in under 30,000 runs because Jazzer reports the comparison to it.
  it('finds a crash behind a magic prefix and reports its input', async () => {
    const report = await runFuzzTarget(
      {
        name: 'planted',
        parser: 'a parser with a planted bug',
        corpus: 'frames',
        valid: [],
        entry: fileURLToPath(new URL('./fixtures/planted.fuzz.ts', import.meta.url)),
      },
      { workDir, runs: 30_000, seed: 1 },
    );
    expect(report.findings.length).toBe(1);
    expect(report.findings[0]!.error).toMatch(/^TypeError: /);
    expect(report.findings[0]!.input.toString('utf8').startsWith('PARLEY')).toBe(true);
  });
});
