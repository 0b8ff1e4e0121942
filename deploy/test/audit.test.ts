import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/audit.mjs', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'parley-audit-'));

/** A registry on loopback: refuses the audit endpoint (405, as some mirrors do) or answers it. */
let bodies: unknown[] = [];
let answer: Record<string, unknown> | null = null;
let server: Server;
let registry = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const bulk = req.method === 'POST' && req.url === '/-/npm/v1/security/advisories/bulk';
      if (!bulk || !answer) {
        res.writeHead(405).end();
        return;
      }
      bodies.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A `pnpm list --json` production tree holding `static` as @fastify/static's version. */
function tree(staticVersion: string): string {
  const file = join(scratch, `tree-${staticVersion}.json`);
  writeFileSync(
    file,
    JSON.stringify([
      {
        name: 'gateway',
        dependencies: {
          'workspace-lib': { version: 'link:../../packages/lib' },
          '@fastify/static': {
            version: staticVersion,
            dependencies: { 'escape-html': { version: '1.0.3' } },
          },
        },
      },
    ]),
  );
  return file;
}

function audit(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      process.execPath,
      [SCRIPT, ...args],
      { env: { ...process.env, PARLEY_AUDIT_REGISTRY: registry, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('scripts/audit.mjs', () => {
  it('falls back to the committed snapshot when the registry refuses the audit endpoint, and fails on a high advisory', async () => {
    answer = null;
    const old = await audit({ PARLEY_AUDIT_TREE: tree('8.3.0') });
    expect(old.code).toBe(1);
    expect(old.out).toContain('GHSA-83w8-p2f5-377r');
    expect(old.out).toMatch(
      /from the snapshot of \d{4}-\d{2}-\d{2} \(127\.0\.0\.1:\d+ answered 405\)/,
    );
    const fixed = await audit({ PARLEY_AUDIT_TREE: tree('10.1.11') });
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain('no high or critical advisory in 2 production packages');
  });

  it('asks the registry first, with every production version, and fails only on high or critical', async () => {
    answer = {
      'escape-html': [
        {
          id: 1,
          url: 'https://example.test/1',
          title: 'minor',
          severity: 'moderate',
          vulnerable_versions: '<2',
        },
      ],
    };
    bodies = [];
    const moderate = await audit({ PARLEY_AUDIT_TREE: tree('10.1.11') });
    expect(moderate.code).toBe(0);
    expect(moderate.out).toContain('moderate escape-html@1.0.3');
    expect(moderate.out).toContain('from the registry');
    expect(bodies).toEqual([{ '@fastify/static': ['10.1.11'], 'escape-html': ['1.0.3'] }]);
    answer = {
      'escape-html': [
        {
          id: 2,
          url: 'https://example.test/2',
          title: 'bad',
          severity: 'critical',
          vulnerable_versions: '>=1.0.0 <1.0.4',
        },
      ],
    };
    expect((await audit({ PARLEY_AUDIT_TREE: tree('10.1.11') })).code).toBe(1);
  });

  it('--refresh writes what the registry said into the snapshot the offline check reads', async () => {
    const snapshot = join(scratch, 'advisories.json');
    writeFileSync(snapshot, JSON.stringify({ updated: '2020-01-01', advisories: {} }));
    answer = {
      'escape-html': [
        {
          id: 3,
          url: 'https://example.test/3',
          title: 'high',
          severity: 'high',
          vulnerable_versions: '*',
          cwe: ['CWE-79'],
        },
      ],
      '@fastify/static': [],
    };
    const env = { PARLEY_AUDIT_TREE: tree('10.1.11'), PARLEY_AUDIT_SNAPSHOT: snapshot };
    expect((await audit(env, ['--refresh'])).code).toBe(1);
    const written = JSON.parse(readFileSync(snapshot, 'utf8'));
    expect(written.updated).toBe(new Date().toISOString().slice(0, 10));
    expect(written.advisories).toEqual({
      'escape-html': [
        {
          id: 3,
          url: 'https://example.test/3',
          title: 'high',
          severity: 'high',
          vulnerable_versions: '*',
        },
      ],
    });
    answer = null; // offline now: the refreshed snapshot still catches it
    const offline = await audit(env);
    expect(offline.code).toBe(1);
    expect(offline.out).toContain('high escape-html@1.0.3');
  });

  it('warns when the snapshot is old, and finds the repository’s own production tree clean', async () => {
    answer = null;
    const snapshot = join(scratch, 'old.json');
    writeFileSync(snapshot, JSON.stringify({ updated: '2020-01-01', advisories: {} }));
    const stale = await audit({
      PARLEY_AUDIT_TREE: tree('10.1.11'),
      PARLEY_AUDIT_SNAPSHOT: snapshot,
    });
    expect(stale.code).toBe(0);
    expect(stale.out).toMatch(/snapshot is \d+ days old/);
    const own = await audit({});
    expect(own.code, own.out).toBe(0);
    expect(own.out).toMatch(/no high or critical advisory in \d{2,} production packages/);
  });
});
