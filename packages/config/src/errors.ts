/** One variable that failed validation. */
export interface ConfigProblem {
  /** The environment variable's name, e.g. `PORT`. */
  variable: string;
  /** What a valid value looks like, e.g. `an integer from 1 to 65535`. */
  expected: string;
  /** The value received (omitted for secrets), or undefined when it was not set. */
  received?: string;
}

/** Thrown by `loadConfig` when any variable is missing or invalid; lists every problem at once. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_ERR_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${describeProblem(p)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function describeProblem(p: ConfigProblem): string {
  if (p.received === undefined) return `${p.variable} is not set: expected ${p.expected}`;
  return `${p.variable}=${JSON.stringify(p.received)} is invalid: expected ${p.expected}`;
}

/** Type guard for {@link ConfigError}, safe across package copies. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof Error && (err as { code?: unknown }).code === 'CONFIG_ERR_INVALID';
}
