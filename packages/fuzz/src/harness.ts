import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A broken promise of a parser (an outcome it must never give), found by a target's checks. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Throws an {@link InvariantError} unless `condition` holds. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** What the runner reads back for each distinct finding. */
export interface FindingRecord {
  /** The input, base64. */
  input: string;
  /** `Name: message` of what was thrown (or of the broken invariant). */
  error: string;
  /** The first frames of its stack. */
  stack: string;
}

/** The environment variable naming the folder findings go to (set by the runner). */
export const FINDINGS_DIR_ENV = 'PARLEY_FUZZ_FINDINGS';
const MAX_FINDINGS = 20;

/**
 * Makes a Jazzer.js entry point from a check of one input: the check calls
 * the parser and asserts its outcome. Whatever it throws (a TypeError, a
 * RangeError from a stack overflow, an {@link InvariantError}), and a
 * rejection or prototype pollution it leaves behind, is a finding: written
 * once per kind to the findings folder, and fuzzing goes on (Jazzer.js on
 * stock libFuzzer cannot stop cleanly on a thrown error, see native/).
 */
export function fuzzTarget(check: (data: Buffer) => void): (data: Buffer) => void {
  // The target runs in Jazzer's process; the runner hands it the folder by environment.
  const dir = process.env[FINDINGS_DIR_ENV];
  const seen = new Set<string>();
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).length;
  let current: Buffer = Buffer.alloc(0);

  const record = (data: Buffer, err: unknown) => {
    const error =
      err instanceof Error
        ? `${err.name}: ${err.message}`.slice(0, 500)
        : String(err).slice(0, 500);
    const stack = err instanceof Error ? (err.stack ?? '').split('\n').slice(1, 6).join('\n') : '';
    const signature = `${error.replace(/\d+/g, 'N')}\n${stack.split('\n')[0] ?? ''}`;
    if (seen.has(signature) || seen.size >= MAX_FINDINGS) return;
    seen.add(signature);
    const finding: FindingRecord = { input: data.toString('base64'), error, stack };
    if (!dir) {
      console.error(`Fuzz finding: ${error}\n${stack}`);
      return;
    }
    mkdirSync(dir, { recursive: true });
    const id = createHash('sha1').update(data).digest('hex');
    writeFileSync(join(dir, `${id}.json`), JSON.stringify(finding));
  };
  process.on('unhandledRejection', (reason) =>
    record(current, new InvariantError(`unhandled rejection: ${String(reason).slice(0, 200)}`)),
  );

  return (data: Buffer) => {
    current = data;
    try {
      const result: unknown = check(data);
      invariant(!(result instanceof Promise), 'a parser must answer synchronously');
    } catch (err) {
      record(data, err);
    }
    if (Object.getOwnPropertyNames(Object.prototype).length !== prototypeKeys) {
      record(data, new InvariantError('Object.prototype was polluted'));
    }
  };
}
