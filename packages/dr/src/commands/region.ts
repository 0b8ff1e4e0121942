import { parseArgs } from 'node:util';
import { regionFailback, regionFailover, type StepResult } from '../region.js';
import { nodesFrom } from './failover.js';
import { positive, usage } from './shared.js';

export const REGION_USAGE = `parley-dr region failover --from NAME --from-health URL --from-db URL[,URL] --to NAME --to-db URL
    [--to-health URL] [--probes 3] [--confirm-ms 30000] [--down-since ISO] [--max-lag-s 30]
    [--hook-fence CMD] [--hook-repoint CMD] [--hook-scale CMD] --hook-dns CMD [--hook-notify CMD]
parley-dr region failback --from NAME --from-db URL --to NAME --to-health URL --to-db URL
    [--traffic 10,50,100] [--soak-ms 300000] [--hook-resync CMD] --hook-dns CMD --hook-fence CMD
    [--hook-rejoin CMD] [--hook-notify CMD]

The design's regional runbook (docs/design/README.md): each step checks its outcome and the run stops at
the first that fails (exit 1). Hooks run with sh -c and get PARLEY_REGION_FROM,
PARLEY_REGION_TO and (dns) PARLEY_TRAFFIC_PERCENT; notify reads the status-page
text on stdin. One JSON line per step. docs/runbooks/regional-failover.md.`;

/** `parley-dr region failover|failback`: the regional runbook, step by step. */
export async function region(rest: string[]): Promise<number> {
  const [sub, ...args] = rest;
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args,
    options: {
      from: text,
      'from-health': text,
      'from-db': text,
      to: text,
      'to-health': text,
      'to-db': text,
      probes: text,
      'confirm-ms': text,
      'down-since': text,
      'max-lag-s': text,
      traffic: text,
      'soak-ms': text,
      'hook-repoint': text,
      'hook-scale': text,
      'hook-dns': text,
      'hook-notify': text,
      'hook-resync': text,
      'hook-fence': text,
      'hook-rejoin': text,
    },
    strict: true,
  });
  const required = (name: keyof typeof values): string => {
    const v = values[name];
    if (!v) throw usage(`${sub} needs --${name}`);
    return v;
  };
  const hooks = {
    ...(values['hook-repoint'] ? { repoint: values['hook-repoint'] } : {}),
    ...(values['hook-scale'] ? { scale: values['hook-scale'] } : {}),
    ...(values['hook-dns'] ? { dns: values['hook-dns'] } : {}),
    ...(values['hook-notify'] ? { notify: values['hook-notify'] } : {}),
    ...(values['hook-resync'] ? { resync: values['hook-resync'] } : {}),
    ...(values['hook-fence'] ? { fence: values['hook-fence'] } : {}),
    ...(values['hook-rejoin'] ? { rejoin: values['hook-rejoin'] } : {}),
  };
  const onStep = (step: StepResult) =>
    process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...step })}\n`);
  let steps: StepResult[];
  if (sub === 'failover') {
    const downSince = values['down-since'] ? new Date(values['down-since']) : undefined;
    if (downSince && Number.isNaN(downSince.getTime()))
      throw usage('--down-since must be an ISO timestamp');
    steps = await regionFailover({
      from: {
        name: required('from'),
        healthUrl: required('from-health'),
        dbUrls: nodesFrom(required('from-db')),
      },
      to: {
        name: required('to'),
        dbUrl: nodesFrom(required('to-db'))[0]!,
        ...(values['to-health'] ? { healthUrl: values['to-health'] } : {}),
      },
      hooks,
      probes: positive(values.probes, '--probes', 3),
      confirmMs: positive(values['confirm-ms'], '--confirm-ms', 30_000),
      maxLagSeconds: positive(values['max-lag-s'], '--max-lag-s', 30),
      ...(downSince ? { downSince } : {}),
      onStep,
    });
  } else if (sub === 'failback') {
    const traffic = (values.traffic ?? '10,50,100').split(',').map(Number);
    if (traffic.some((p) => !Number.isInteger(p) || p < 1 || p > 100) || traffic.at(-1) !== 100)
      throw usage('--traffic must be percentages ending with 100');
    steps = await regionFailback({
      from: { name: required('from'), dbUrl: nodesFrom(required('from-db'))[0]! },
      to: {
        name: required('to'),
        healthUrl: required('to-health'),
        dbUrl: nodesFrom(required('to-db'))[0]!,
      },
      hooks,
      steps: traffic,
      soakMs: positive(values['soak-ms'], '--soak-ms', 300_000),
      onStep,
    });
  } else {
    process.stderr.write(`${REGION_USAGE}\n`);
    return 2;
  }
  const failedStep = steps.find((s) => !s.ok);
  process.stderr.write(
    failedStep
      ? `region ${sub}: stopped at ${failedStep.step}: ${failedStep.detail}\n`
      : `region ${sub}: done in ${steps.reduce((n, s) => n + s.ms, 0)} ms\n`,
  );
  return failedStep ? 1 : 0;
}
