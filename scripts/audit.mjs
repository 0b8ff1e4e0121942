#!/usr/bin/env node
// Known advisories of the production dependencies, high and critical.
//
//   node scripts/audit.mjs            check (exit 1 on a high or critical advisory)
//   node scripts/audit.mjs --refresh  also write what the registry said into the snapshot
//
// The installed production tree (`pnpm list --prod`) is sent to the registry's
// bulk advisory endpoint, the one `npm audit` uses. Where the registry does not
// answer it (some mirrors refuse it with 405, and a machine may be offline), the
// same versions are checked against the committed snapshot
// deploy/security/advisories.json, in the endpoint's own format, and the output
// says so and how old the snapshot is. `--refresh` updates the snapshot from a
// registry that answers, so the offline check knows what the last online one knew.
//
// Environment: PARLEY_AUDIT_REGISTRY (default: npm's configured registry),
// PARLEY_AUDIT_SNAPSHOT (default: the committed snapshot), PARLEY_AUDIT_TREE (a
// `pnpm list --json` file instead of running pnpm; used by the tests).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SNAPSHOT = process.env.PARLEY_AUDIT_SNAPSHOT ?? `${ROOT}deploy/security/advisories.json`;
const FAILING = new Set(['high', 'critical']);
/** Older than this, the offline check still runs but warns that it may miss advisories. */
const STALE_DAYS = 90;
const refresh = process.argv.includes('--refresh');

/** name -> versions of the production dependency tree, every workspace package. */
function productionTree() {
  const json = process.env.PARLEY_AUDIT_TREE
    ? readFileSync(process.env.PARLEY_AUDIT_TREE, 'utf8')
    : execFileSync('pnpm', ['list', '-r', '--prod', '--json', '--depth', 'Infinity'], {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
  const tree = new Map();
  // pnpm prints a subtree once; a workspace link (version `link:...`) is walked but not audited.
  const seen = new Set();
  const walk = (deps) => {
    for (const [name, dep] of Object.entries(deps ?? {})) {
      if (seen.has(`${name}@${dep.version}`)) continue;
      seen.add(`${name}@${dep.version}`);
      if (semver.valid(dep.version)) tree.set(name, (tree.get(name) ?? new Set()).add(dep.version));
      walk(dep.dependencies);
    }
  };
  for (const project of JSON.parse(json)) walk(project.dependencies);
  return tree;
}

function registry() {
  if (process.env.PARLEY_AUDIT_REGISTRY) return process.env.PARLEY_AUDIT_REGISTRY;
  try {
    return execFileSync('pnpm', ['config', 'get', 'registry'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'https://registry.npmjs.org/';
  }
}

/** The registry's advisories for `tree`, or the reason it gave none. */
async function online(tree) {
  const body = Object.fromEntries([...tree].map(([name, versions]) => [name, [...versions]]));
  const url = new URL('-/npm/v1/security/advisories/bulk', registry().replace(/\/?$/, '/'));
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    if (!res.ok) return { reason: `${url.host} answered ${res.status}` };
    return { advisories: await res.json() };
  } catch (err) {
    return { reason: `${url.host}: ${err.cause?.code ?? err.message}` };
  }
}

/** The advisories that affect a version in `tree`, from a bulk-endpoint answer. */
function affecting(tree, advisories) {
  const found = [];
  for (const [name, list] of Object.entries(advisories))
    for (const advisory of list)
      for (const version of tree.get(name) ?? [])
        if (semver.satisfies(version, advisory.vulnerable_versions, { includePrerelease: true }))
          found.push({ name, version, ...advisory });
  return found;
}

const tree = productionTree();
const live = await online(tree);
let advisories;
let from;
if (live.advisories) {
  advisories = live.advisories;
  from = 'the registry';
  if (refresh) {
    const snapshot = {
      updated: new Date().toISOString().slice(0, 10),
      source: 'npm bulk advisory endpoint (-/npm/v1/security/advisories/bulk)',
      advisories: Object.fromEntries(
        Object.entries(advisories)
          .filter(([, list]) => list.length > 0)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, list]) => [
            name,
            list.map(({ id, url, title, severity, vulnerable_versions }) => ({
              id,
              url,
              title,
              severity,
              vulnerable_versions,
            })),
          ]),
      ),
    };
    writeFileSync(SNAPSHOT, `${JSON.stringify(snapshot, null, 2)}\n`);
    console.error(`audit: snapshot ${SNAPSHOT} refreshed`);
  }
} else {
  const snapshot = JSON.parse(readFileSync(SNAPSHOT, 'utf8'));
  advisories = snapshot.advisories;
  const age = Math.floor((Date.now() - Date.parse(snapshot.updated)) / 86_400_000);
  from = `the snapshot of ${snapshot.updated} (${live.reason})`;
  if (refresh) {
    console.error(`audit: cannot refresh, the registry gave no advisories (${live.reason})`);
    process.exitCode = 1;
  }
  if (age > STALE_DAYS)
    console.error(
      `audit: warning: the snapshot is ${age} days old; run \`node scripts/audit.mjs --refresh\` where the registry answers`,
    );
}

const found = affecting(tree, advisories);
const failing = found.filter((a) => FAILING.has(a.severity));
for (const a of found)
  console.error(
    `audit: ${a.severity} ${a.name}@${a.version}: ${a.title} (${a.url}), vulnerable ${a.vulnerable_versions}`,
  );
const packages = [...tree.values()].reduce((n, v) => n + v.size, 0);
if (failing.length > 0) {
  console.error(
    `audit: ${failing.length} high or critical advisories in the production dependencies, from ${from}`,
  );
  process.exitCode = 1;
} else
  console.error(
    `audit: no high or critical advisory in ${packages} production packages, from ${from}`,
  );
