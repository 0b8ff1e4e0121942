import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fuzzCorpus } from '@parley/testing';
import type { FuzzTargetInfo } from './targets.js';

/** The regression corpus kept in the repository: `packages/testing/fuzz-corpus/<name>.jsonl`. */
export function regressionCorpusFile(name: string): string {
  const testing = createRequire(import.meta.url).resolve('@parley/testing');
  return join(dirname(testing), `../fuzz-corpus/${name}.jsonl`);
}

/** Writes the regression corpus and the valid samples into `dir`, one file per input. */
export function seedCorpus(target: FuzzTargetInfo, dir: string): number {
  mkdirSync(dir, { recursive: true });
  const inputs = [...fuzzCorpus(target.corpus), ...target.valid];
  for (const input of inputs) {
    const bytes = Buffer.from(input, 'utf8');
    writeFileSync(join(dir, createHash('sha1').update(bytes).digest('hex')), bytes);
  }
  return inputs.length;
}

/**
 * Adds an input that broke a parser to the target's regression corpus (one
 * JSON string per line), unless it is there. Every target reads its input as
 * UTF-8, as the parsers do, so the string form loses nothing they see.
 * Answers whether it was added.
 */
export function saveRegression(target: FuzzTargetInfo, input: Buffer): boolean {
  const text = input.toString('utf8');
  if (fuzzCorpus(target.corpus).includes(text)) return false;
  const file = regressionCorpusFile(target.corpus);
  const separator = readFileSync(file, 'utf8').endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${separator}${JSON.stringify(text)}\n`);
  return true;
}
