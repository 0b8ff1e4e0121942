import { parseArgs } from 'node:util';
import { nodeStatus, promote, redact, rejoin, setSynchronous, watch } from '../failover.js';
import { need, positive, usage } from './shared.js';

export const FAILOVER_USAGE = `parley-dr failover status [--nodes URL,...] [--json]
parley-dr failover promote --target URL [--nodes URL,...] [--force]
parley-dr failover watch [--nodes URL,...] [--after-ms 30000] [--interval-ms 1000] [--max-lag-bytes N] [--approve]
parley-dr failover rejoin --data-dir DIR --source URL [--method auto|rewind|basebackup] [--start]
parley-dr failover sync on|off [--primary URL] [--standby NAME]

--nodes defaults to PARLEY_PG_PRIMARY_URL and PARLEY_PG_REPLICA_URLS. The URLs
need a role that may promote (superuser, or EXECUTE on pg_promote) and, for
rejoin, the grants pg_rewind needs on the new primary. watch promotes only
with --approve (the operator's approval of the automatic policy); without it,
it reports what it would do. Output is JSON lines.`;

/** The Postgres nodes: `--nodes`, else the primary and replica variables. */
export function nodesFrom(flag: string | undefined): string[] {
  const list = (
    flag ??
    [process.env.PARLEY_PG_PRIMARY_URL, process.env.PARLEY_PG_REPLICA_URLS]
      .filter(Boolean)
      .join(',')
  )
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw usage('no nodes: pass --nodes or set PARLEY_PG_PRIMARY_URL and PARLEY_PG_REPLICA_URLS');
  for (const url of list)
    if (!/^postgres(ql)?:\/\//.test(url)) throw usage(`not a postgres:// URL: ${redact(url)}`);
  return list;
}

/** `parley-dr failover ...`: the Postgres nodes of one region: status, promote, watch, rejoin, sync. */
export async function failover(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  const { values, positionals } = parseArgs({
    args,
    options: {
      nodes: { type: 'string' },
      target: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'after-ms': { type: 'string' },
      'interval-ms': { type: 'string' },
      'max-lag-bytes': { type: 'string' },
      approve: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      source: { type: 'string' },
      method: { type: 'string', default: 'auto' },
      start: { type: 'boolean', default: false },
      primary: { type: 'string' },
      standby: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  switch (sub) {
    case 'status': {
      const statuses = await Promise.all(nodesFrom(values.nodes).map((u) => nodeStatus(u)));
      if (values.json) out(statuses);
      else
        for (const s of statuses)
          process.stdout.write(
            `${s.role.padEnd(8)} ${s.node}${s.timeline ? ` timeline ${s.timeline}` : ''}${s.lsn ? ` at ${s.lsn}` : ''}${s.replayed ? ` replayed ${s.replayed}` : ''}${s.error ? ` (${s.error})` : ''}\n`,
          );
      return statuses.filter((s) => s.role === 'primary').length === 1 ? 0 : 1;
    }
    case 'promote': {
      if (!values.target) throw usage('promote needs --target URL (the replica to promote)');
      // Without --nodes: every configured node but the target must not take writes.
      const others = nodesFrom(values.nodes).filter((u) => u !== values.target);
      out(await promote({ target: values.target, others, force: values.force }));
      return 0;
    }
    case 'watch': {
      const controller = new AbortController();
      for (const signal of ['SIGTERM', 'SIGINT'] as const)
        process.once(signal, () => controller.abort());
      await watch({
        nodes: nodesFrom(values.nodes),
        afterMs: positive(values['after-ms'], '--after-ms', 30_000),
        intervalMs: positive(values['interval-ms'], '--interval-ms', 1_000),
        ...(values['max-lag-bytes']
          ? { maxLagBytes: BigInt(positive(values['max-lag-bytes'], '--max-lag-bytes', 1)) }
          : {}),
        approve: values.approve,
        signal: controller.signal,
        onEvent: (e) => out({ at: new Date().toISOString(), ...e }),
      });
      return 0;
    }
    case 'rejoin': {
      if (!values['data-dir'] || !values.source)
        throw usage('rejoin needs --data-dir DIR (the old primary, stopped) and --source URL');
      const method = values.method;
      if (method !== 'auto' && method !== 'rewind' && method !== 'basebackup')
        throw usage('--method must be auto, rewind or basebackup');
      out(
        await rejoin({
          dataDir: values['data-dir'],
          source: values.source,
          tools: { bin: process.env.PARLEY_PG_BIN ?? '/usr/lib/postgresql/15/bin' },
          method,
          start: values.start,
        }),
      );
      return 0;
    }
    case 'sync': {
      const mode = positionals[0];
      if (mode !== 'on' && mode !== 'off') throw usage('sync needs on or off');
      const primary = values.primary ?? need('PARLEY_PG_PRIMARY_URL');
      out(
        await setSynchronous({
          primary,
          on: mode === 'on',
          ...(values.standby ? { standby: values.standby } : {}),
        }),
      );
      return 0;
    }
    default:
      process.stderr.write(`${FAILOVER_USAGE}\n`);
      return 2;
  }
}
