import { ConfigError, type ConfigProblem } from './errors.js';
import type { Field } from './fields.js';

/** A map from config key to how its variable is read. */
export type ConfigSpec = Record<string, Field<unknown>>;

/** The typed, frozen configuration a spec describes. */
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never;
};

/**
 * Reads every field of `spec` from `source` (pass `process.env`; only `main.ts` does).
 * Unset or empty variables take their default; a required variable without a value,
 * or any invalid value, is collected, and all problems are thrown together as one
 * {@link ConfigError} naming each variable and what was expected.
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  source: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec)) {
    const raw = source[f.variable];
    if (raw === undefined || raw.trim() === '') {
      if (f.defaultValue === undefined)
        problems.push({ variable: f.variable, expected: f.expected });
      else out[key] = f.defaultValue;
      continue;
    }
    const parsed = f.schema.safeParse(raw.trim());
    if (parsed.success) out[key] = parsed.data;
    else
      problems.push({
        variable: f.variable,
        expected: f.expected,
        received: f.secret ? '<redacted>' : raw,
      });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}
