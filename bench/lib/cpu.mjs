// CPU time by process, from /proc: what a benchmark divides by the messages
// it sent. A process's own time plus its reaped children's (cutime, cstime)
// plus its live descendants': Postgres runs a process per connection.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** @param {number} pid */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state is field 3, so index i here is field i + 3.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      own: Number(f[11]) + Number(f[12]),
      reaped: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined;
  }
}

/** Every live process's parent, read once per snapshot. */
function parents() {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  return children;
}

/** CPU milliseconds of `root` and everything under it so far. */
function treeMs(root, children) {
  const top = stat(root);
  if (!top) return NaN;
  let ticks = top.own + top.reaped;
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop();
    const s = stat(pid);
    if (!s) continue;
    ticks += s.own;
    queue.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * A snapshot of each named process tree's CPU time, in milliseconds.
 * @param {Record<string, number>} pids
 * @returns {Record<string, number>}
 */
export function cpuSnapshot(pids) {
  const children = parents();
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, treeMs(pid, children)]),
  );
}

/** CPU ms used between two snapshots, by name. */
export function cpuSince(before, after = undefined, pids = undefined) {
  const now = after ?? cpuSnapshot(pids);
  return Object.fromEntries(Object.keys(before).map((name) => [name, now[name] - before[name]]));
}

/**
 * The local infrastructure's processes (scripts/infra): Kafka, Redis, the
 * Postgres primary and replica (their postmasters; the backends are their children).
 * @returns {Record<string, number>}
 */
export function infraPids() {
  const dir =
    process.env.PARLEY_INFRA_DIR ??
    join(fileURLToPath(new URL('../..', import.meta.url)), '.infra');
  /** @type {Record<string, number>} */
  const pids = {};
  const read = (file) =>
    existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : NaN;
  for (const [name, file] of [
    ['kafka', join(dir, 'run', 'kafka.pid')],
    ['redis', join(dir, 'run', 'redis.pid')],
    ['postgres primary', join(dir, 'pg', 'primary', 'postmaster.pid')],
    ['postgres replica', join(dir, 'pg', 'replica', 'postmaster.pid')],
  ]) {
    const pid = read(file);
    if (Number.isInteger(pid) && pid > 0 && stat(pid)) pids[name] = pid;
  }
  return pids;
}

/**
 * Prints CPU ms per unit of work by process and in total.
 * @param {Record<string, number>} used CPU ms by process
 * @param {number} units messages (or whatever the run counts)
 * @param {string} unit
 */
export function printCpu(used, units, unit = 'message') {
  const rows = Object.entries(used).map(([name, ms]) => [name, ms / units]);
  const total = rows.reduce((n, [, v]) => n + v, 0);
  for (const [name, v] of rows)
    console.log(`  ${name.padEnd(18)} ${v.toFixed(2)} ms CPU per ${unit}`);
  console.log(`  ${'total'.padEnd(18)} ${total.toFixed(2)} ms CPU per ${unit}`);
  return total;
}
