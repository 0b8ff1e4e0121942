import { Gauge, Registry, Pushgateway } from 'prom-client';
import { CHECKS, type IntegrityCheck } from './checks.js';

/** What runs a read-only query (a `pg` client or pool). */
export interface Queryable {
  query<R extends object>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** One check's outcome: what it found (a sample) and how long it took. */
export interface CheckResult {
  name: string;
  severity: IntegrityCheck['severity'];
  description: string;
  /** Findings (rows), up to the limit. */
  found: number;
  /** The first findings, for the log and the operator. */
  sample: Array<Record<string, unknown>>;
  ms: number;
  /** Set when the query itself failed (a finding too: the check could not run). */
  error?: string;
}

/**
 * Runs the checks one after another, inside a read-only transaction, and
 * reports every result (passed ones too: each action with a logged result).
 */
export async function runChecks(
  db: Queryable,
  options: {
    checks?: readonly IntegrityCheck[];
    limit?: number;
    onResult?: (r: CheckResult) => void;
  } = {},
): Promise<CheckResult[]> {
  const limit = options.limit ?? 1_000;
  const results: CheckResult[] = [];
  for (const check of options.checks ?? CHECKS) {
    const started = performance.now();
    let result: CheckResult;
    try {
      await db.query('begin transaction read only');
      const { rows } = await db.query<Record<string, unknown>>(check.sql, [limit]);
      result = {
        ...describe(check),
        found: rows.length,
        sample: rows.slice(0, 5),
        ms: performance.now() - started,
      };
    } catch (err) {
      result = {
        ...describe(check),
        found: 0,
        sample: [],
        ms: performance.now() - started,
        error: (err as Error).message,
      };
    } finally {
      await db.query('rollback').catch(() => undefined);
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

const describe = (check: IntegrityCheck) => ({
  name: check.name,
  severity: check.severity,
  description: check.description,
});

/** Whether a result fails the run: a finding, or a check that could not run. */
export const failed = (r: CheckResult): boolean => r.found > 0 || r.error !== undefined;

/** The results as Prometheus metrics (for a Pushgateway: the job runs and exits). */
export function resultMetrics(results: readonly CheckResult[], now = Date.now()): Registry {
  const registry = new Registry();
  const rows = new Gauge({
    name: 'parley_integrity_findings',
    help: 'Rows an integrity check found (0: passed), by check and severity',
    labelNames: ['check', 'severity'],
    registers: [registry],
  });
  const errors = new Gauge({
    name: 'parley_integrity_check_errors',
    help: 'Integrity checks that could not run (1), by check',
    labelNames: ['check'],
    registers: [registry],
  });
  const last = new Gauge({
    name: 'parley_integrity_last_run_timestamp_seconds',
    help: 'When the integrity checks last ran',
    registers: [registry],
  });
  for (const r of results) {
    rows.set({ check: r.name, severity: r.severity }, r.found);
    errors.set({ check: r.name }, r.error ? 1 : 0);
  }
  last.set(now / 1000);
  return registry;
}

/**
 * Pushes the results to a Prometheus Pushgateway (job `parley_integrity`),
 * grouped by `release` when given, so that two releases sharing one
 * Pushgateway keep their results apart.
 */
export async function pushResults(
  url: string,
  results: readonly CheckResult[],
  { release }: { release?: string } = {},
): Promise<void> {
  await new Pushgateway(url, {}, resultMetrics(results)).pushAdd({
    jobName: 'parley_integrity',
    ...(release ? { groupings: { release } } : {}),
  });
}
