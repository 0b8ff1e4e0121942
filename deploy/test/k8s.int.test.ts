import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CHART, REGIONS, REPO, exec, parseObjects, renderRegion, type K8sObject } from './tools.js';
import { validateObject } from './validate.js';

/**
 * k8s/ (a kustomize base and one overlay per region) is rendered from the
 * chart by deploy/render-k8s.mjs: it must be up to date, and each overlay
 * must build to exactly what the chart renders for its region.
 */
const run = promisify(execFile);
const byKey = (objects: K8sObject[]) =>
  new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));

describe('k8s/', () => {
  it('is what deploy/render-k8s.mjs renders from the chart now (no drift)', async () => {
    const { stdout } = await run('node', [join(REPO, 'deploy/render-k8s.mjs'), '--check'], {
      env: process.env,
    });
    expect(stdout).toMatch(/k8s\/ matches the chart/);
  });

  it('builds the base to the chart with its default values', async () => {
    const built = byKey(
      parseObjects(await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, 'k8s/base')])),
    );
    const chart = byKey(
      parseObjects(
        await exec('PARLEY_HELM', ['template', 'parley', CHART, '--namespace', 'parley']),
      ),
    );
    expect([...built.keys()].sort()).toEqual([...chart.keys()].sort());
    for (const [key, object] of chart) expect(built.get(key), key).toEqual(object);
  });

  it.each(REGIONS)(
    'builds the %s overlay to exactly what the chart renders for that region',
    async (region) => {
      const built = parseObjects(
        await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, 'k8s/overlays', region)]),
      );
      const chart = byKey((await renderRegion(region)).objects);
      const overlay = byKey(built);
      expect([...overlay.keys()].sort()).toEqual([...chart.keys()].sort());
      for (const [key, object] of chart) expect(overlay.get(key), key).toEqual(object);
      for (const object of built) await validateObject(object);
    },
  );
});
