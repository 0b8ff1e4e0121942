import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { describeViolation, findViolations, listWorkspaces } from '../src/workspace-deps.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
// The scope, kept apart from the names below so that, when the check runs on
// this repository, the fixtures' package names are not read as this file's own.
const S = '@parley/';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A scratch workspace: `files` maps paths to contents (objects are written as JSON). */
function workspace(files: Record<string, string | object>): string {
  root = mkdtempSync(join(tmpdir(), 'parley-deps-'));
  writeFileSync(
    join(root, 'pnpm-workspace.yaml'),
    'packages:\n  - packages/*\n  - services/*\n  - e2e\n# a comment\nignoredBuiltDependencies:\n  - esbuild\n',
  );
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(
      join(root, path),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  }
  return root;
}

/** A package.json naming `name` (without the scope) and its workspace devDependencies. */
const pkg = (name: string, ...devDependencies: string[]) => ({
  name: S + name,
  devDependencies: Object.fromEntries(devDependencies.map((d) => [S + d, 'workspace:*'])),
});

describe('the workspace dependency check', () => {
  it('lists the packages of pnpm-workspace.yaml with their declared workspace dependencies', () => {
    const dir = workspace({
      'packages/kit/package.json': pkg('kit'),
      'services/hitl/package.json': {
        name: `${S}hitl`,
        dependencies: { [`${S}kit`]: 'workspace:*', zod: '^4' },
      },
      'e2e/package.json': pkg('e2e', 'hitl'),
    });
    const found = listWorkspaces(dir).map((w) => [w.name, [...w.declared]]);
    expect(found).toHaveLength(3);
    expect(found).toEqual(
      expect.arrayContaining([
        [`${S}kit`, []],
        [`${S}hitl`, [`${S}kit`]],
        [`${S}e2e`, [`${S}hitl`]],
      ]),
    );
  });

  it('reports a test that starts a service its package does not declare', () => {
    const dir = workspace({
      'services/hitl/package.json': pkg('hitl'),
      'services/embedding/package.json': pkg('embedding'),
      'services/gateway/package.json': pkg('gateway', 'hitl'),
      'services/gateway/test/faults.int.test.ts': [
        `import { serviceEntry } from '${S}testing';`,
        `const hitl = serviceEntry('${S}hitl', import.meta.url);`,
        `const embedding = serviceEntry('${S}embedding', import.meta.url);`,
      ].join('\n'),
    });
    const violations = findViolations(dir);
    expect(violations).toEqual([
      {
        file: join('services', 'gateway', 'test', 'faults.int.test.ts'),
        line: 3,
        workspace: `${S}gateway`,
        reaches: `${S}embedding`,
        kind: 'undeclared',
      },
    ]);
    expect(describeViolation(violations[0]!)).toContain(
      `add "${S}embedding": "workspace:*" to its devDependencies`,
    );
  });

  it('reports imports, subpaths and relative paths into another package’s dist/', () => {
    const dir = workspace({
      'packages/kit/package.json': pkg('kit'),
      'services/voice/package.json': pkg('voice'),
      'services/chat/package.json': pkg('chat'),
      'services/chat/src/a.ts': `import { x } from "${S}kit/sub";\n`,
      'services/chat/test/b.mjs':
        "const e = new URL('../../voice/dist/main.js', import.meta.url);\n",
    });
    expect(findViolations(dir).map((v) => [v.file, v.reaches])).toEqual([
      [join('services', 'chat', 'src', 'a.ts'), `${S}kit`],
      [join('services', 'chat', 'test', 'b.mjs'), `${S}voice`],
    ]);
  });

  it('reports a package name built at run time, which no check can follow', () => {
    const dir = workspace({
      'services/hitl/package.json': pkg('hitl'),
      'services/hitl/test/c.ts': `const entry = (s: string) => require.resolve(\`${S}\${s}/main\`);\n`,
    });
    const [violation, ...rest] = findViolations(dir);
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ kind: 'dynamic', reaches: `\`${S}\${s}/main\``, line: 1 });
    expect(describeViolation(violation!)).toContain('name each package in full');
  });

  it('accepts declared packages, the package itself, its own dist/ and names outside the workspace', () => {
    const dir = workspace({
      'packages/kit/package.json': pkg('kit'),
      'services/hitl/package.json': pkg('hitl'),
      'services/chat/package.json': pkg('chat', 'kit'),
      'services/chat/src/a.ts': [
        `import { k } from '${S}kit';`,
        `import { c } from '${S}chat/config';`,
        "const self = new URL('../dist/main.js', import.meta.url);",
        `const other = '${S}not-a-workspace-package';`,
      ].join('\n'),
      'services/chat/dist/main.js': `import '${S}hitl';\n`,
      'services/chat/node_modules/x/index.js': `require('${S}hitl');\n`,
    });
    expect(findViolations(dir)).toEqual([]);
  });

  it('finds nothing undeclared in this repository', () => {
    expect(findViolations(REPO_ROOT).map(describeViolation)).toEqual([]);
    // It read the real tree: the services and the platform-wide suites.
    const names = listWorkspaces(REPO_ROOT).map((w) => w.name);
    expect(names).toEqual(expect.arrayContaining([`${S}gateway`, `${S}hitl`, `${S}e2e`]));
  });
});
