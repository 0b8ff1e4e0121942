import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * Inputs for fuzzing Parley's boundary parsers: a regression corpus kept in
 * the repository (`packages/testing/fuzz-corpus/<name>.jsonl`, one JSON
 * string per line, so any byte sequence fits), and arbitraries that mutate
 * valid samples, the inputs that reach deepest into a parser.
 */
export function fuzzCorpus(name: string): string[] {
  const file = new URL(`../fuzz-corpus/${name}.jsonl`, import.meta.url);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('//'))
    .map((line) => JSON.parse(line) as string);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `value` (objects' keys and arrays' indexes). */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value)
    ? value.flatMap((v, i) => paths(v, [...prefix, i]))
    : Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]));
  return [prefix, ...children];
}

function setAt(root: Json, path: Array<string | number>, value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  let node = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return root;
}

/**
 * Text a peer could send: valid samples with one value replaced, removed or
 * given a hostile key; any JSON; any string; and the corpus.
 */
export function hostileText(valid: object[], corpus: string[] = []): fc.Arbitrary<string> {
  const mutated = fc
    .record({
      sample: fc.constantFrom(...valid),
      at: fc.nat(),
      action: fc.constantFrom('replace', 'remove', 'proto', 'nest'),
      value: fc.jsonValue({ maxDepth: 3 }),
      depth: fc.integer({ min: 50, max: 5_000 }),
    })
    .map(({ sample, at, action, value, depth }) => {
      const copy = structuredClone(sample) as Json;
      const all = paths(copy);
      const path = all[at % all.length]!;
      switch (action) {
        case 'replace':
          return JSON.stringify(setAt(copy, path, value as Json));
        case 'remove':
          return JSON.stringify(setAt(copy, path, undefined));
        case 'proto':
          // Written by hand: JSON.stringify would not emit a __proto__ key.
          return JSON.stringify(copy).replace(
            /^\{/,
            '{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":1}},',
          );
        case 'nest':
          return JSON.stringify(setAt(copy, path, null)).replace(
            'null',
            `${'['.repeat(depth)}${']'.repeat(depth)}`,
          );
      }
      return '';
    });
  return fc.oneof(
    { arbitrary: mutated, weight: 5 },
    { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
    ...(corpus.length > 0 ? [{ arbitrary: fc.constantFrom(...corpus), weight: 1 }] : []),
  );
}
