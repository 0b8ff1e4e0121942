import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

/**
 * Where Jazzer.js's native addon goes: `bindings` looks for it in the
 * `@jazzer.js/fuzzer` package's `build/Release`, as cmake-js would leave it.
 */
export function jazzerAddonPath(): string {
  return join(
    dirname(require.resolve('@jazzer.js/fuzzer/package.json')),
    'build/Release/jazzerjs.node',
  );
}

/** The newest stock libFuzzer Debian installed (`libclang-rt-dev`), or null. */
export function findLibFuzzer(root = '/usr/lib'): string | null {
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  const byVersion = (a: string, b: string) =>
    parseInt(b.split('-')[1] ?? '0') - parseInt(a.split('-')[1] ?? '0');
  const llvms = existsSync(root) ? readdirSync(root).filter((d) => /^llvm-\d+$/.test(d)) : [];
  for (const llvm of llvms.sort(byVersion)) {
    const clang = join(root, llvm, 'lib/clang');
    if (!existsSync(clang)) continue;
    for (const version of readdirSync(clang)) {
      const archive = join(clang, version, `lib/linux/libclang_rt.fuzzer_no_main-${arch}.a`);
      if (existsSync(archive)) return archive;
    }
  }
  return null;
}

/**
 * Builds Jazzer.js's native addon unless it is there: the npm package ships
 * its C++ source, but its prebuilt binaries come from GitHub releases, which
 * this project cannot reach. It is compiled with g++ against Debian's stock
 * libFuzzer and the shim in `native/` (a few seconds, once per install).
 */
export async function ensureJazzerAddon(): Promise<string> {
  const target = jazzerAddonPath();
  if (existsSync(target)) return target;
  const libFuzzer = findLibFuzzer();
  if (!libFuzzer)
    throw new Error(
      "libFuzzer was not found: install Debian's libclang-rt-dev (scripts/infra fuzzer does)",
    );
  const source = dirname(require.resolve('@jazzer.js/fuzzer/package.json'));
  const shim = fileURLToPath(new URL('../native/', import.meta.url));
  const nodeHeaders = join(dirname(process.execPath), '../include/node');
  if (!existsSync(join(nodeHeaders, 'node_api.h')))
    throw new Error(`Node's headers are not in ${nodeHeaders}`);
  const addonApi = (require('node-addon-api') as { include_dir: string }).include_dir;
  const cpp = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.cpp'))
      .map((f) => join(dir, f));

  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  await run(
    'g++',
    [
      '-O2',
      '-shared',
      '-fPIC',
      '-std=c++17',
      '-DNAPI_VERSION=4',
      '-DNAPI_CPP_EXCEPTIONS',
      `-I${nodeHeaders}`,
      `-I${addonApi}`,
      `-I${shim}`,
      ...cpp(source),
      ...cpp(join(source, 'shared')),
      ...cpp(shim),
      '-Wl,--whole-archive',
      libFuzzer,
      '-Wl,--no-whole-archive',
      '-o',
      partial,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  // Several runners may build at once: the last rename wins, each one whole.
  renameSync(partial, target);
  return target;
}
