/**
 * Which workspace packages each package's code reaches, against what its
 * package.json declares.
 *
 * turbo builds a package's declared workspace dependencies before its `test`
 * task, and nothing else. A test that starts or imports another package's
 * build output without declaring it works only where an earlier run left that
 * `dist/` behind, or when concurrent tasks happen to finish in a lucky order.
 * This finds those places, in every file of every workspace package:
 *
 * - a string that names a package, `'@parley/hitl'` or `'@parley/hitl/main'`
 *   (imports, `require.resolve`, {@link serviceEntry});
 * - a relative path into another package's `dist/` (`'../../hitl/dist/main.js'`);
 * - a package name built at run time (`` `@parley/${name}` ``), which no
 *   check can follow: name the package in full instead.
 *
 * `packages/testing/test/workspace-deps.test.ts` runs it on the repository,
 * so the README's test command fails on an undeclared dependency.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One workspace package: its name, folder and declared dependencies. */
export interface Workspace {
  name: string;
  dir: string;
  declared: ReadonlySet<string>;
}

/** A place where a package reaches another in a way its package.json does not cover. */
export interface Violation {
  /** The file, relative to the repository root. */
  file: string;
  line: number;
  /** The package holding the file. */
  workspace: string;
  /** The package reached, or the dynamic expression found. */
  reaches: string;
  kind: 'undeclared' | 'dynamic';
}

const SOURCE = /\.(?:[cm]?ts|[cm]?js|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'reports', '.turbo', 'coverage']);
const SCOPE = '@parley/';
// A package name, or the start of one with a path after it.
const NAMED = /^@parley\/([a-z0-9][a-z0-9-]*)(?:\/|$)/;
// A relative path ('./' or '../') that passes through a dist folder.
const RELATIVE_DIST = /^\.{1,2}\/(?:.*\/)?dist(?:\/|$)/;

/** The workspace packages listed by `pnpm-workspace.yaml` (`dir` and `dir/*` entries). */
export function listWorkspaces(root: string): Workspace[] {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) inPackages = /^packages:\s*$/.test(line);
    const entry = inPackages && /^\s+-\s+['"]?([^'"#\s]+)['"]?/.exec(line);
    if (entry) globs.push(entry[1]!);
  }
  const dirs = globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [join(root, glob)];
    const parent = join(root, glob.slice(0, -2));
    return existsSync(parent) ? readdirSync(parent).map((name) => join(parent, name)) : [];
  });
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
        optionalDependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const declared = new Set(
        [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies, pkg.peerDependencies]
          .flatMap((deps) => Object.keys(deps ?? {}))
          .filter((name) => name.startsWith(SCOPE)),
      );
      return { name: pkg.name, dir, declared };
    });
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.'))
        yield* sourceFiles(join(dir, entry.name));
    } else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield join(dir, entry.name);
    }
  }
}

/** Every place a workspace package reaches another it does not declare. */
export function findViolations(root: string): Violation[] {
  const workspaces = listWorkspaces(root);
  const known = new Set(workspaces.map((w) => w.name));
  // The workspace owning a path: the one with the longest folder containing it.
  const owner = (path: string) =>
    workspaces
      .filter((w) => path === w.dir || path.startsWith(w.dir + sep))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
  const violations: Violation[] = [];

  for (const ws of workspaces) {
    for (const file of sourceFiles(ws.dir)) {
      if (statSync(file).size > 2_000_000) continue;
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
      const at = (node: ts.Node, reaches: string, kind: Violation['kind']) =>
        violations.push({
          file: relative(root, file),
          line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
          workspace: ws.name,
          reaches,
          kind,
        });
      const reached = (node: ts.Node, name: string) => {
        if (name !== ws.name && known.has(name) && !ws.declared.has(name))
          at(node, name, 'undeclared');
      };
      // Strings and template literals only: comments may name any package.
      const visit = (node: ts.Node): void => {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
          const named = NAMED.exec(node.text);
          if (named) reached(node, SCOPE + named[1]);
          else if (RELATIVE_DIST.test(node.text)) {
            const target = owner(resolve(dirname(file), node.text));
            if (target) reached(node, target.name);
          }
        } else if (ts.isTemplateExpression(node)) {
          const named = NAMED.exec(node.head.text);
          if (named) reached(node, SCOPE + named[1]);
          else if (node.head.text === SCOPE || node.head.text === '@parley')
            at(node, node.getText(source), 'dynamic');
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return violations;
}

/** One line per violation, with what to do about it. */
export function describeViolation(v: Violation): string {
  return v.kind === 'dynamic'
    ? `${v.file}:${v.line}: ${v.workspace} builds a package name at run time (${v.reaches}); ` +
        `name each package in full ('@parley/<name>') so turbo's build order can be checked`
    : `${v.file}:${v.line}: ${v.workspace} reaches ${v.reaches}, which its package.json does ` +
        `not declare; add "${v.reaches}": "workspace:*" to its devDependencies so turbo builds it first`;
}
