// Starting what the chat benchmarks drive: the distributed platform (service
// processes on the local infrastructure, a tenant of the run's own) with the
// rate limits raised out of the way.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { createKafkaClient } from '@parley/kafka';
import { PgDatabase } from '@parley/postgres';
import { infraEnv, serviceEntry, serviceEnv, startServiceProcess } from '@parley/testing';

/** The services a benchmark starts, by the name `procs` keeps each under. */
const PACKAGES = { chat: '@parley/chat', ai: '@parley/ai', gateway: '@parley/gateway' };

/**
 * A service's built entry point.
 * @param {string} name a key of PACKAGES, or one with `#n` after it for another process of it
 */
function entry(name) {
  const pkg = PACKAGES[/** @type {keyof typeof PACKAGES} */ (name.split('#')[0])];
  if (!pkg) throw new Error(`bench: no service ${name}; one of ${Object.keys(PACKAGES)}`);
  return serviceEntry(pkg, import.meta.url);
}

/**
 * Gateway limits raised far above what a benchmark sends, so it measures the
 * pipeline, not the rate limiter (one IP opens every session).
 */
export const limits = {
  RATE_LIMIT_IP_BURST: '100000',
  RATE_LIMIT_IP_PER_SECOND: '100000',
  RATE_LIMIT_TENANT_BURST: '1000000',
  RATE_LIMIT_TENANT_PER_SECOND: '1000000',
  RATE_LIMIT_CONNECTION_BURST: '10000',
  RATE_LIMIT_CONNECTION_PER_SECOND: '10000',
  WS_MAX_CONNECTIONS_PER_VISITOR: '100',
  // Every session comes from 127.0.0.1.
  WS_MAX_CONNECTIONS_PER_IP: '100000',
  LOG_LEVEL: 'info',
  PARLEY_SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-00',
};

/**
 * Creates a tenant of the run's own and starts `services` (in that order of
 * names; all at once) as processes on the local Kafka, Postgres and Redis,
 * isolated on a topic and consumer groups of their own.
 * @param {string[]} services e.g. ['chat', 'ai', 'gateway'] ('gateway#2': a second gateway)
 * @param {Record<string, string>} [extraEnv]
 */
export async function startDistributed(services, extraEnv = {}) {
  const infra = infraEnv();
  const db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl, replicaUrls: [infra.pgReplicaUrl] });
  await migrate(db);
  const tenantId = `bench-${randomUUID().slice(0, 8)}`;
  const origin = 'http://bench.test';
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [origin],
  });
  await db.close();
  const env = { ...serviceEnv({ isolate: tenantId }), ...limits, ...extraEnv };
  const settled = await Promise.allSettled(
    services.map((name) => startServiceProcess(entry(name), { env, startTimeoutMs: 60_000 })),
  );
  const started = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    // The ones that did start would outlive this process: stop them first.
    await Promise.all(started.map((p) => p.stop()));
    throw failed.reason;
  }
  const procs = Object.fromEntries(services.map((name, i) => [name, started[i]]));
  return {
    tenantId,
    widgetKey: `pk_${tenantId}`,
    origin,
    procs,
    stop: async () => {
      await Promise.all(started.map((p) => p.stop()));
      await dropRunTopics(infra.kafkaBrokers, env);
    },
  };
}

/**
 * Deletes the run's own topics and consumer groups. Every topic partition
 * keeps files open in the broker: left behind, runs add up until the shared
 * broker runs out of file descriptors. Best effort: a failure is only printed.
 */
async function dropRunTopics(brokers, env) {
  const admin = createKafkaClient({ brokers, clientId: 'bench-cleanup' }).admin();
  try {
    await admin.connect();
    const topic = env.PARLEY_KAFKA_TOPIC;
    const existing = new Set(await admin.listTopics());
    const topics = [topic, `${topic}.dlq`].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    await admin
      .deleteGroups([env.CHAT_CONSUMER_GROUP, env.AI_CONSUMER_GROUP])
      .catch(() => undefined);
  } catch (err) {
    console.error(`bench: could not delete the run's topics: ${err.message}`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Starts the protocol echo baseline (echo-server.mjs) as its own process and
 * returns a target for the load generator, its pid and `stop()`.
 */
export async function startEchoBaseline() {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./echo-server.mjs', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(d)));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  return {
    target: {
      baseUrl: `http://127.0.0.1:${port}`,
      widgetKey: 'pk_echo',
      origin: 'http://bench.test',
    },
    pid: child.pid,
    stop: async () => {
      child.kill();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
