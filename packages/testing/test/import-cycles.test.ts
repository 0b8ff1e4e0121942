import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { afterEach, describe, expect, it } from 'vitest';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The import cycles among the TypeScript files under `dirs` (madge; type-only imports count). */
async function cycles(root: string, dirs: string[]): Promise<string[][]> {
  const graph = await madge(
    dirs.map((d) => join(root, d)),
    {
      fileExtensions: ['ts'],
      excludeRegExp: [/node_modules/, /\/dist\//, /\.d\.ts$/],
      detectiveOptions: { ts: { skipTypeImports: false } },
    },
  );
  return graph.circular();
}

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('import cycles', () => {
  it('finds none in any service or package', async () => {
    expect(await cycles(REPO_ROOT, ['services', 'packages'])).toEqual([]);
  }, 120_000);

  it('would find one made of type-only imports between two files', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'parley-cycles-'));
    mkdirSync(join(scratch, 'src'));
    writeFileSync(
      join(scratch, 'src/a.ts'),
      "import type { B } from './b.js';\nexport type A = { b?: B };\n",
    );
    writeFileSync(
      join(scratch, 'src/b.ts'),
      "import type { A } from './a.js';\nexport type B = { a?: A };\n",
    );
    expect(await cycles(scratch, ['src'])).toEqual([['a.ts', 'b.ts']]);
  });
});
