#!/usr/bin/env node
// The build's first step: copies each owner's migrations (packages/*/migrations
// and services/*/migrations, beside the code that owns the tables) into this
// package's migrations/ (generated, not committed), where `migrate()` reads
// them in one global version order. Two files with one version, or a name
// that is not NNNN_snake_case.sql, stop the build. Writes owners.json
// (version -> owner) for the schema's tests and docs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const out = join(here, 'migrations');
const FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

const found = new Map();
for (const group of ['packages', 'services']) {
  for (const owner of readdirSync(join(root, group)).sort()) {
    const dir = join(root, group, owner, 'migrations');
    if (dir === out || !existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      const match = FILE.exec(file);
      if (!match) throw new Error(`${relative(root, join(dir, file))}: not NNNN_name.sql`);
      const version = Number(match[1]);
      const other = found.get(version);
      if (other)
        throw new Error(
          `migration ${version} twice: ${other.path} and ${relative(root, join(dir, file))}`,
        );
      found.set(version, {
        file,
        owner: `${group}/${owner}`,
        path: relative(root, join(dir, file)),
      });
    }
  }
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const owners = {};
for (const [version, { file, owner, path }] of [...found].sort(([a], [b]) => a - b)) {
  copyFileSync(join(root, path), join(out, file));
  owners[version] = owner;
}
writeFileSync(join(out, 'owners.json'), `${JSON.stringify(owners, null, 2)}\n`);
