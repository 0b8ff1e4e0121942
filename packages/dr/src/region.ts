import { spawn } from 'node:child_process';
import pg from 'pg';
import { STATUS_TEMPLATES } from '@parley/status-templates';
import { CHECKS } from './checks.js';
import { lsnBytes, nodeStatus, promote, redact } from './failover.js';
import { failed, runChecks } from './run.js';
import { readinessServes } from '@parley/contracts';

/**
 * The design's regional failover runbook (trigger, pre-checks, promotion,
 * DNS, failback; docs/design/README.md#regional-failover-runbook) as steps
 * that each check their outcome and stop the run when it is not met. What
 * differs between installations (how DNS moves, how the release is
 * re-pointed and scaled, who is told) runs as shell hooks; everything Parley
 * knows (health, replica lag, promotion, data consistency) is checked here.
 */

/** One finished step, as printed (a JSON line each). */
export interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** Shell commands run at their step, with PARLEY_REGION_FROM/TO and PARLEY_TRAFFIC_PERCENT set. */
export interface RegionHooks {
  /** Points the standby region's release at the promoted database and starts its pods. */
  repoint?: string;
  /** Scales the standby region to the primary's sizing. */
  scale?: string;
  /** Moves PARLEY_TRAFFIC_PERCENT of traffic to PARLEY_REGION_TO (GeoDNS weights). */
  dns?: string;
  /** Posts the status-page text it reads on stdin. */
  notify?: string;
  /** Failback: makes the old primary's database a replica of the current one (parley-dr failover rejoin on its host). */
  resync?: string;
  /**
   * Stops writes in the region being left (its pods to zero, its Postgres
   * stopped or cut off). Failback: required. Failover: run before the
   * promotion when given (STONITH, where the dead region's API still answers).
   */
  fence?: string;
  /** Failback: makes the fenced database a replica again. */
  rejoin?: string;
}

export interface RegionFailoverOptions {
  from: { name: string; healthUrl: string; dbUrls: string[] };
  to: { name: string; healthUrl?: string; dbUrl: string };
  hooks: RegionHooks;
  /** Probes of the primary region that must all fail, spread over confirmMs. @default 3 */
  probes?: number;
  /** @default 30000 */
  confirmMs?: number;
  /** When the primary region went down (the alert); the replica must be this close to it. @default the first failed probe */
  downSince?: Date;
  /** The runbook's pre-check: the replica's lag must be under 30 s. */
  maxLagSeconds?: number;
  /** How long the standby region may take to report ready after re-pointing. @default 300000 */
  readyTimeoutMs?: number;
  onStep?: (step: StepResult) => void;
}

/** The outage playbook's status-page texts, for Parley; shared with the gateway's status page. */
export { STATUS_TEMPLATES };

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether a region serves: its `/readyz` answers 200 and does not report an
 * essential dependency down (`state: critical`). A shared dependency's
 * outage (the Postgres primary) leaves the pods ready, so the state is what
 * tells a region that cannot write from one that merely lost its cache.
 */
async function healthy(url: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    return await readinessServes(await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }));
  } catch {
    return false;
  }
}

/** Runs a hook with `sh -c`; its output goes to stderr (ours is the JSON lines). */
export function runHook(
  command: string,
  env: Record<string, string>,
  stdin = '',
  timeoutMs = 600_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      env: { ...process.env, ...env },
      // Hooks' output goes to stderr: stdout carries the steps' JSON lines.
      stdio: [stdin ? 'pipe' : 'ignore', process.stderr, 'inherit'],
      timeout: timeoutMs,
    });
    if (child.stdin) {
      // A hook that does not read its input must not fail the run.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(coded('DR_ERR_HOOK', `hook failed (${signal ?? `exit ${code}`}): ${command}`)),
    );
  });
}

class Runner {
  readonly steps: StepResult[] = [];
  constructor(private readonly onStep?: (s: StepResult) => void) {}

  async step(name: string, fn: () => Promise<string>): Promise<void> {
    const started = Date.now();
    try {
      const detail = await fn();
      this.record({ step: name, ok: true, detail, ms: Date.now() - started });
    } catch (err) {
      this.record({
        step: name,
        ok: false,
        detail: (err as Error).message,
        ms: Date.now() - started,
      });
      throw err;
    }
  }

  /** Records a failed check that needs no work (a missing setting). */
  fail(step: string, detail: string): void {
    this.record({ step, ok: false, detail, ms: 0 });
  }

  private record(result: StepResult): void {
    this.steps.push(result);
    this.onStep?.(result);
  }
}

async function query<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Fails over from a region that is down to the standby region: confirm the
 * outage, check the standby's replica, promote it, re-point and scale the
 * standby region, move all traffic, notify. Stops at the first failed check.
 */
export async function regionFailover(o: RegionFailoverOptions): Promise<StepResult[]> {
  const run = new Runner(o.onStep);
  const env = { PARLEY_REGION_FROM: o.from.name, PARLEY_REGION_TO: o.to.name };
  const probes = o.probes ?? 3;
  const confirmMs = o.confirmMs ?? 30_000;
  const maxLag = o.maxLagSeconds ?? 30;
  let downSince = o.downSince;
  let lastReplay: Date | null = null;
  // Checked before anything changes: a run that stops half-way cannot simply be run again.
  if (!o.hooks.dns) {
    run.fail('preflight', 'no DNS hook (--hook-dns): traffic could not be moved; nothing was done');
    return run.steps;
  }
  try {
    await run.step('primary-region-down', async () => {
      for (let i = 0; i < probes; i++) {
        if (i > 0) await sleep(confirmMs / Math.max(1, probes - 1));
        if (await healthy(o.from.healthUrl))
          throw coded(
            'DR_ERR_PRIMARY_UP',
            `${o.from.name} answered its health check: not failing over`,
          );
        downSince ??= new Date();
      }
      return `${o.from.name} failed ${probes} health checks over ${confirmMs} ms`;
    });
    await run.step('standby-replica-ready', async () => {
      for (const url of o.from.dbUrls) {
        const s = await nodeStatus(url);
        if (s.role === 'primary')
          throw coded(
            'DR_ERR_PRIMARY_ALIVE',
            `${s.node} still takes writes: fence it before failing over`,
          );
      }
      let status = await nodeStatus(o.to.dbUrl);
      if (status.role !== 'replica')
        throw coded('DR_ERR_NOT_REPLICA', `${status.node} is ${status.role}, not a replica`);
      // Everything received is replayed before it is judged (up to 30 s).
      for (
        let i = 0;
        i < 60 &&
        status.received &&
        status.replayed &&
        lsnBytes(status.replayed) < lsnBytes(status.received);
        i++
      ) {
        await sleep(500);
        status = await nodeStatus(o.to.dbUrl);
      }
      const [row] = await query<{ at: Date | null }>(
        o.to.dbUrl,
        'select pg_last_xact_replay_timestamp() as at',
      );
      lastReplay = row?.at ?? null;
      const lagSeconds = lastReplay
        ? Math.max(0, (downSince!.getTime() - lastReplay.getTime()) / 1000)
        : Infinity;
      if (lagSeconds > maxLag)
        throw coded(
          'DR_ERR_LAG',
          `the replica's last transaction is ${lagSeconds.toFixed(1)} s older than the outage (limit ${maxLag} s); ` +
            'if the primary was idle, check pg_replica_lag_seconds before the outage and rerun with a higher --max-lag-s',
        );
      return `replica replayed up to ${status.replayed}, ${lagSeconds.toFixed(1)} s behind the outage`;
    });
    if (o.hooks.fence)
      await run.step('fence', async () => {
        await runHook(o.hooks.fence!, env);
        return `${o.from.name} fenced (its pods and database can no longer take writes)`;
      });
    await run.step('promote', async () => {
      const result = await promote({ target: o.to.dbUrl, others: o.from.dbUrls });
      // Write capability: a transaction id is only assigned on a writable primary.
      await query(o.to.dbUrl, 'select txid_current()');
      return `promoted ${result.promoted} to timeline ${result.timeline} in ${result.tookMs} ms; it takes writes`;
    });
    await run.step('repoint', async () => {
      if (o.hooks.repoint) await runHook(o.hooks.repoint, env);
      if (!o.to.healthUrl)
        return o.hooks.repoint ? 'hook ran' : 'no hook and no health URL: nothing to do';
      const deadline = Date.now() + (o.readyTimeoutMs ?? 300_000);
      while (!(await healthy(o.to.healthUrl))) {
        if (Date.now() > deadline)
          throw coded('DR_ERR_NOT_READY', `${o.to.name} did not report ready`);
        await sleep(1_000);
      }
      return `${o.to.name} reports ready`;
    });
    await run.step('scale-up', async () => {
      if (!o.hooks.scale) return 'no hook: the HPAs scale from their minimums';
      await runHook(o.hooks.scale, env);
      return 'hook ran';
    });
    await run.step('dns', async () => {
      if (!o.hooks.dns) throw coded('DR_ERR_USAGE', 'no DNS hook: traffic was not moved');
      await runHook(o.hooks.dns, { ...env, PARLEY_TRAFFIC_PERCENT: '100' });
      return `100 % of traffic to ${o.to.name}`;
    });
    await run.step('notify', async () => {
      const text = STATUS_TEMPLATES.failover(o.from.name, o.to.name, new Date());
      if (o.hooks.notify) await runHook(o.hooks.notify, env, text);
      return o.hooks.notify ? 'status page updated' : `no hook; post this:\n${text}`;
    });
  } catch {
    // The failed step is in the results.
  }
  return run.steps;
}

export interface RegionFailbackOptions {
  /** The region serving now (the former standby) and its database, the primary now. */
  from: { name: string; healthUrl?: string; dbUrl: string };
  /** The recovered region and its database (to become a replica, then the primary again). */
  to: { name: string; healthUrl: string; dbUrl: string };
  hooks: RegionHooks;
  /** Traffic steps (the runbook shifts traffic back gradually). @default [10, 50, 100] */
  steps?: number[];
  /** How long each traffic step is watched before the next. @default 300000 */
  soakMs?: number;
  /** @default 120000 */
  catchUpTimeoutMs?: number;
  onStep?: (step: StepResult) => void;
}

async function waitStreamEnded(replicaUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await query<{ streaming: boolean; caught_up: boolean }>(
      replicaUrl,
      `select exists (select 1 from pg_stat_wal_receiver where status = 'streaming') as streaming,
              coalesce(pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn(), true) as caught_up`,
    );
    if (row && !row.streaming && row.caught_up) return;
    if (Date.now() > deadline)
      throw coded(
        'DR_ERR_CATCH_UP',
        `${redact(replicaUrl)} still streams from the fenced primary (is it stopped?) or has not replayed what it received`,
      );
    await sleep(250);
  }
}

async function waitReplayed(
  replicaUrl: string,
  position: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await nodeStatus(replicaUrl);
    if (s.role === 'replica' && s.replayed && lsnBytes(s.replayed) >= lsnBytes(position)) return;
    if (Date.now() > deadline)
      throw coded(
        'DR_ERR_CATCH_UP',
        `${redact(replicaUrl)} did not replay ${position} in time (${s.role}, at ${s.replayed ?? '-'})`,
      );
    await sleep(250);
  }
}

/**
 * Fails back to the recovered region: resync its database as a replica,
 * prove the data matches, shift traffic 10 %, 50 %, 100 % (back to 0 % if its
 * health fails), then switch the primary over with writes fenced, and make
 * the other side a replica again.
 */
export async function regionFailback(o: RegionFailbackOptions): Promise<StepResult[]> {
  const run = new Runner(o.onStep);
  const env = { PARLEY_REGION_FROM: o.from.name, PARLEY_REGION_TO: o.to.name };
  const catchUp = o.catchUpTimeoutMs ?? 120_000;
  const missing = (['dns', 'fence'] as const).filter((h) => !o.hooks[h]);
  if (missing.length > 0) {
    run.fail(
      'preflight',
      `missing hooks: ${missing.map((h) => `--hook-${h}`).join(', ')}; nothing was done`,
    );
    return run.steps;
  }
  try {
    await run.step('recovered-region-healthy', async () => {
      if (!(await healthy(o.to.healthUrl)))
        throw coded('DR_ERR_NOT_READY', `${o.to.name} does not answer its health check`);
      return `${o.to.name} answers`;
    });
    await run.step('resync', async () => {
      if (o.hooks.resync) await runHook(o.hooks.resync, env);
      const [primary] = await query<{ lsn: string }>(
        o.from.dbUrl,
        'select pg_current_wal_lsn()::text as lsn',
      );
      await waitReplayed(o.to.dbUrl, primary!.lsn, catchUp);
      return `${o.to.name}'s database is a replica and has replayed ${primary!.lsn}`;
    });
    await run.step('consistency', async () => {
      const client = new pg.Client({
        connectionString: o.from.dbUrl,
        application_name: 'parley-dr',
      });
      await client.connect();
      const checks = await runChecks(client, {
        checks: CHECKS.filter((c) => c.severity === 'critical'),
      }).finally(() => client.end());
      const bad = checks.filter(failed);
      if (bad.length > 0)
        throw coded(
          'DR_ERR_INTEGRITY',
          `integrity checks failed: ${bad.map((c) => c.name).join(', ')}`,
        );
      // The same counts on both sides up to one instant the replica has replayed.
      // A row's created_at is when its transaction began, and one begun just
      // before the mark may commit after it (counted on one side only): the
      // instant is taken 20 s back, past the longest statement (15 s), so
      // every row older than it was committed before the mark.
      const [mark] = await query<{ lsn: string; at: Date }>(
        o.from.dbUrl,
        "select pg_current_wal_lsn()::text as lsn, now() - interval '20 seconds' as at",
      );
      await waitReplayed(o.to.dbUrl, mark!.lsn, catchUp);
      const count = `select (select count(*) from conversations where created_at <= $1)::bigint as conversations,
                            (select count(*) from messages where created_at <= $1)::bigint as messages`;
      const [a] = await query<{ conversations: string; messages: string }>(o.from.dbUrl, count, [
        mark!.at,
      ]);
      const [b] = await query<{ conversations: string; messages: string }>(o.to.dbUrl, count, [
        mark!.at,
      ]);
      if (a!.conversations !== b!.conversations || a!.messages !== b!.messages)
        throw coded(
          'DR_ERR_MISMATCH',
          `counts differ: ${JSON.stringify(a)} on ${o.from.name}, ${JSON.stringify(b)} on ${o.to.name}`,
        );
      return `integrity checks pass; ${a!.conversations} conversations and ${a!.messages} messages on both`;
    });
    for (const percent of o.steps ?? [10, 50, 100]) {
      await run.step(`shift-${percent}`, async () => {
        if (!o.hooks.dns) throw coded('DR_ERR_USAGE', 'no DNS hook: traffic cannot be shifted');
        await runHook(o.hooks.dns, { ...env, PARLEY_TRAFFIC_PERCENT: String(percent) });
        const soak = o.soakMs ?? 300_000;
        const until = Date.now() + soak;
        do {
          if (!(await healthy(o.to.healthUrl))) {
            await runHook(o.hooks.dns, { ...env, PARLEY_TRAFFIC_PERCENT: '0' });
            throw coded(
              'DR_ERR_UNHEALTHY',
              `${o.to.name} failed its health check at ${percent} %: traffic moved back`,
            );
          }
          await sleep(Math.min(1_000, soak));
        } while (Date.now() < until);
        return `${percent} % of traffic to ${o.to.name}, healthy for ${soak} ms`;
      });
    }
    await run.step('switchover', async () => {
      if (!o.hooks.fence)
        throw coded(
          'DR_ERR_USAGE',
          'no fence hook: writes on the current primary cannot be stopped',
        );
      const [before] = await query<{ lsn: string }>(
        o.from.dbUrl,
        'select pg_current_wal_lsn()::text as lsn',
      );
      await runHook(o.hooks.fence, env);
      const after = await nodeStatus(o.from.dbUrl);
      if (after.role === 'primary')
        throw coded(
          'DR_ERR_PRIMARY_ALIVE',
          `${after.node} still takes writes after the fence hook`,
        );
      // Nothing written before or during the fence is left behind: the fenced
      // server sent the replica all it wrote as it shut down, so wait until
      // the replica's stream from it has ended and everything received is replayed.
      await waitReplayed(o.to.dbUrl, before!.lsn, catchUp);
      await waitStreamEnded(o.to.dbUrl, catchUp);
      const result = await promote({ target: o.to.dbUrl, others: [o.from.dbUrl] });
      await query(o.to.dbUrl, 'select txid_current()');
      return `${o.to.name} promoted (timeline ${result.timeline}) after replaying ${before!.lsn}`;
    });
    await run.step('rejoin', async () => {
      if (!o.hooks.rejoin)
        return `no hook: make ${o.from.name}'s database a replica with parley-dr failover rejoin`;
      await runHook(o.hooks.rejoin, env);
      const deadline = Date.now() + catchUp;
      for (;;) {
        const s = await nodeStatus(o.from.dbUrl);
        if (s.role === 'replica') return `${s.node} is a replica again`;
        if (Date.now() > deadline)
          throw coded('DR_ERR_REJOIN', `${s.node} is ${s.role} after the rejoin hook`);
        await sleep(250);
      }
    });
    await run.step('notify', async () => {
      const text = STATUS_TEMPLATES.resolved(
        `the loss of the ${o.to.name} region`,
        `failing over to ${o.from.name} and back`,
        new Date(),
      );
      if (o.hooks.notify) await runHook(o.hooks.notify, env, text);
      return o.hooks.notify ? 'status page updated' : `no hook; post this:\n${text}`;
    });
  } catch {
    // The failed step is in the results.
  }
  return run.steps;
}
