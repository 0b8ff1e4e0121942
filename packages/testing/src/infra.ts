import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Connection details of the real servers that `scripts/infra up` started. */
export interface InfraEnv {
  pgPrimaryUrl: string;
  pgReplicaUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
}

const KEYS = {
  pgPrimaryUrl: 'PARLEY_PG_PRIMARY_URL',
  pgReplicaUrl: 'PARLEY_PG_REPLICA_URL',
  redisUrl: 'PARLEY_REDIS_URL',
  kafkaBrokers: 'PARLEY_KAFKA_BROKERS',
} as const;

/**
 * Reads the infrastructure's addresses from the environment, falling back to
 * the `.infra/env` file that `scripts/infra up` writes at the repository root.
 * Throws with the command to run when neither has them: an integration test
 * fails loudly rather than skipping.
 */
export function infraEnv(env: NodeJS.ProcessEnv = process.env): InfraEnv {
  const values: Record<string, string | undefined> = { ...readEnvFile(), ...env };
  const missing = Object.values(KEYS).filter((key) => !values[key]);
  if (missing.length > 0) {
    throw new Error(
      `Integration tests need real Kafka, Postgres and Redis: ${missing.join(', ')} not set. ` +
        'Run `scripts/infra up` (or the whole suite with `scripts/test`).',
    );
  }
  return {
    pgPrimaryUrl: values[KEYS.pgPrimaryUrl]!,
    pgReplicaUrl: values[KEYS.pgReplicaUrl]!,
    redisUrl: values[KEYS.redisUrl]!,
    kafkaBrokers: values[KEYS.kafkaBrokers]!.split(',').map((b) => b.trim()),
  };
}

function readEnvFile(): Record<string, string> {
  const file = findUp(process.cwd(), join('.infra', 'env'));
  if (!file) return {};
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/^export\s+/, '').trim())
    .filter((line) => line && !line.startsWith('#') && line.includes('='))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1).replace(/^["']|["']$/g, '')] as const;
    });
  return Object.fromEntries(entries);
}

function findUp(from: string, relative: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** A name unique to this test run, for topics, groups, schemas and keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `probe` until it returns a value other than `undefined`, or throws after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/**
 * Retries `check` (typically a block of `expect`s) until it stops throwing;
 * after `timeoutMs` rethrows its last error, so the failure names the assertion.
 */
export async function expectEventually(
  check: () => void | Promise<void>,
  { timeoutMs = 20_000, intervalMs = 25 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
