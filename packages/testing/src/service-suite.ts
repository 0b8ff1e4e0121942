import { describe, expect, it } from 'vitest';
import { infraEnv } from './infra.js';
import { startServiceProcess } from './service-process.js';
import { resetUpgrade, upgradeAnswer } from './upgrade.js';

/** Options for {@link serviceProcessSuite}. */
export interface ServiceSuiteOptions {
  service: string;
  /** Absolute path of the built `dist/main.js`. */
  entry: string;
  /** Readiness checks `/readyz` must report as up. */
  checks: string[];
  /** Details some checks must report (matched, not equal). */
  details?: Record<string, Record<string, unknown>>;
  /** Metric names `/metrics` must expose besides the process ones. */
  metrics?: string[];
  /** The WebSocket paths the service accepts upgrades on (any other is answered 404). */
  upgradePaths?: string[];
  /** Variables over {@link serviceEnv} for every process the suite starts. */
  env?: Record<string, string>;
}

/** Upgrade paths every service is tried on: the platform's own, and one nobody owns. */
const KNOWN_UPGRADE_PATHS = ['/v1/widget/ws', '/v1/voice/twilio/stream', '/no-such-socket'];

/**
 * The environment a service needs to reach the real test infrastructure.
 * With `isolate`, the processes get a topic and consumer groups of their own
 * (`conversation-events-<isolate>`, `chat-<isolate>`, ...): no other test's
 * events, no history to catch up with, and no group shared with another
 * topic (kafkajs would hand one test's partitions to another's process),
 * and a region of their own (`test-<isolate>`: the providers' health in Redis).
 */
export function serviceEnv({ isolate }: { isolate?: string } = {}): Record<string, string> {
  const infra = infraEnv();
  const own: Record<string, string> = isolate
    ? {
        PARLEY_KAFKA_TOPIC: `conversation-events-${isolate}`,
        CHAT_CONSUMER_GROUP: `chat-${isolate}`,
        AI_CONSUMER_GROUP: `ai-${isolate}`,
        HITL_CONSUMER_GROUP: `hitl-${isolate}`,
        EMBEDDING_CONSUMER_GROUP: `embedding-${isolate}`,
        PARLEY_KNOWLEDGE_TOPIC: `knowledge-jobs-${isolate}`,
        // Region-scoped state in Redis (the AI providers' health) stays this test's own.
        PARLEY_REGION: `test-${isolate}`,
      }
    : {};
  return {
    ...own,
    PARLEY_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    PARLEY_PG_PRIMARY_URL: infra.pgPrimaryUrl,
    PARLEY_PG_REPLICA_URLS: infra.pgReplicaUrl,
    PARLEY_REDIS_URL: infra.redisUrl,
    PARLEY_KAFKA_TOPIC_PARTITIONS: '24',
    SHUTDOWN_DEADLINE_MS: '10000',
    LOG_LEVEL: 'info',
    PARLEY_SESSION_SECRET: 'integration-test-secret-0123456789abcdef',
    PARLEY_AGENT_SECRET: 'integration-agent-secret-0123456789abcdef',
    // Every test signs its agents in from 127.0.0.1, and Redis keeps the count between runs.
    HITL_SIGN_IN_BURST_PER_ADDRESS: '100000',
    HITL_SIGN_IN_BURST_PER_ACCOUNT: '100000',
  };
}

/**
 * The lifecycle every service must pass as a real process on real
 * infrastructure: it serves liveness, readiness with its dependencies and
 * metrics, exits cleanly within its deadline on SIGTERM, and refuses to boot
 * on a bad variable, naming it.
 */
export function serviceProcessSuite({
  service,
  entry,
  checks,
  details = {},
  metrics: metricNames = [],
  upgradePaths = [],
  env: extraEnv = {},
}: ServiceSuiteOptions): void {
  const env = () => ({ ...serviceEnv(), ...extraEnv });
  describe(`${service} process`, () => {
    it('answers /healthz, /readyz with its dependencies, and /metrics, then shuts down cleanly on SIGTERM', async () => {
      const proc = await startServiceProcess(entry, { env: env() });
      try {
        const health = await fetch(`${proc.baseUrl}/healthz`);
        expect(health.status).toBe(200);

        const ready = await fetch(`${proc.baseUrl}/readyz`);
        const report = (await ready.json()) as {
          status: string;
          checks: Record<string, { status: string; details?: Record<string, unknown> }>;
        };
        expect(report.status).toBe('ready');
        expect(ready.status).toBe(200);
        for (const check of checks) expect(report.checks[check]?.status, check).toBe('up');
        for (const [check, wanted] of Object.entries(details))
          expect(report.checks[check]?.details, check).toMatchObject(wanted);

        const metrics = await (await fetch(`${proc.baseUrl}/metrics`)).text();
        expect(metrics).toContain(`process_resident_memory_bytes{service="${service}"`);
        for (const name of metricNames) expect(metrics, name).toContain(`\n${name}{`);
      } finally {
        const { code, elapsedMs } = await proc.stop('SIGTERM');
        expect(code).toBe(0);
        expect(elapsedMs).toBeLessThan(10_000);
        expect(proc.logs.map((l) => l.msg)).toContain('Shutdown complete');
      }
    });

    it('answers every WebSocket upgrade, and survives clients that reset theirs', async () => {
      const proc = await startServiceProcess(entry, { env: env() });
      try {
        const paths = [...new Set([...upgradePaths, ...KNOWN_UPGRADE_PATHS])];
        for (const path of paths)
          for (const afterMs of [0, 100, 500]) await resetUpgrade(proc.baseUrl, path, afterMs);
        for (const path of paths.filter((p) => !upgradePaths.includes(p))) {
          const answer = await upgradeAnswer(proc.baseUrl, path);
          expect(answer.status, `an upgrade to ${path}`).toBe(404);
          expect(answer.text, path).toMatch(/"code":"[A-Z]+_ERR_NOT_FOUND"/);
        }
        expect(proc.child.exitCode).toBeNull();
        expect((await fetch(`${proc.baseUrl}/healthz`)).status).toBe(200);
        expect(proc.logs.map((l) => l.msg)).not.toContain(
          'Uncaught exception; the process goes on serving',
        );
      } finally {
        await proc.stop('SIGTERM');
      }
    });

    it('refuses to start when a variable is invalid, naming it', async () => {
      const error = await startServiceProcess(entry, {
        env: { ...env(), SHUTDOWN_DEADLINE_MS: 'soon' },
        startTimeoutMs: 10_000,
      }).then(
        (proc) => proc.stop().then(() => new Error('started anyway')),
        (err: Error) => err,
      );
      expect(error.message).toContain('exited with code 1');
      expect(error.message).toContain(
        'SHUTDOWN_DEADLINE_MS="soon" is invalid: expected an integer from 1000 to 600000',
      );
    });
  });
}
