import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGIONS, exec, renderRegion } from './tools.js';

/**
 * The chart's prometheus-adapter rules (ConfigMap `parley-prometheus-adapter`)
 * loaded by prometheus-adapter's own code (deploy/tools/adapter-check: its
 * strict loader, its rule compiler, every query template run once): what
 * the adapter would refuse at start fails here, in every region.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-adapter-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function adapterConfig(region: (typeof REGIONS)[number]): Promise<string> {
  const { objects } = await renderRegion(region);
  const map = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'parley-prometheus-adapter',
  ) as { data?: Record<string, string> } | undefined;
  const config = map?.data?.['config.yaml'];
  if (!config) throw new Error(`no parley-prometheus-adapter config.yaml in ${region}`);
  return config;
}

async function check(config: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, config);
  return exec('PARLEY_ADAPTER_CHECK', [file]).then(
    (output) => ({ ok: true, output }),
    (err: Error) => ({ ok: false, output: err.message }),
  );
}

describe('the prometheus-adapter rules, as prometheus-adapter reads them', () => {
  it('loads and compiles every rule and external rule of every region', async () => {
    for (const region of REGIONS) {
      const result = await check(await adapterConfig(region));
      expect(result, region).toEqual({
        ok: true,
        output: expect.stringMatching(/^ok: 6 rules, 1 external rules/),
      });
    }
  });

  it('refuses a misspelt field, a broken name pattern and a query template that does not run', async () => {
    const config = await adapterConfig('us-east');
    expect(config).toContain('seriesQuery');
    const broken: Array<[string, RegExp]> = [
      [config.replace('seriesQuery', 'seriesQery'), /seriesQery/],
      [
        config.replace("matches: '^active_sessions$'", "matches: '(unclosed'"),
        /missing closing \)/,
      ],
      [
        config.replace(
          'sum(<<.Series>>{<<.LabelMatchers>>})',
          'sum(<<.NoSuchField>>{<<.LabelMatchers>>})',
        ),
        /can't evaluate field NoSuchField/,
      ],
    ];
    for (const [bad, why] of broken) {
      expect(bad, `${why} changed nothing`).not.toBe(config);
      const result = await check(bad);
      expect(result.ok, String(why)).toBe(false);
      expect(result.output).toMatch(why);
    }
  });
});
