import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- render-k8s.mjs is plain JavaScript (no declarations)
import { forKustomize, hookForKustomize, isHook } from '../render-k8s.mjs';
import { CHART, REGIONS, REPO, exec, parseObjects, renderRegion, type K8sObject } from './tools.js';
import { validateObject } from './validate.js';

/**
 * k8s/ (a kustomize base and one overlay per region) is rendered from the
 * chart by deploy/render-k8s.mjs: it must be up to date, and each overlay
 * must build to exactly what the chart renders for its region, less its Helm
 * hooks (in setup/ beside it), in the namespace parley, managed by kustomize.
 */
const run = promisify(execFile);
const byKey = (objects: K8sObject[]) =>
  new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
type Transform = (o: K8sObject) => K8sObject;
/** What kustomize builds for a rendered object: forKustomize's, in the namespace parley. */
const applied = (o: K8sObject, transform: Transform = forKustomize) => {
  const out = transform(o);
  return { ...out, metadata: { ...out.metadata, namespace: 'parley' } };
};
/** The chart's objects as kustomize builds them, keyed: the hooks (as setup/ has them) or the rest. */
const expected = (objects: K8sObject[], hooks: boolean) =>
  byKey(
    objects
      .filter((o) => isHook(o) === hooks)
      .map((o) => applied(o, hooks ? hookForKustomize : forKustomize)),
  );

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
    const rendered = parseObjects(
      await exec('PARLEY_HELM', [
        'template',
        'parley',
        CHART,
        '--namespace',
        'parley',
        '--skip-tests',
      ]),
    );
    const chart = expected(rendered, false);
    expect([...built.keys()].sort()).toEqual([...chart.keys()].sort());
    for (const [key, object] of chart) expect(built.get(key), key).toEqual(object);
    const setup = byKey(
      parseObjects(await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, 'k8s/base/setup')])),
    );
    expect(setup).toEqual(expected(rendered, true));
  });

  it.each(REGIONS)(
    'builds the %s overlay to exactly what the chart renders for that region',
    async (region) => {
      const built = parseObjects(
        await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, 'k8s/overlays', region)]),
      );
      // Without `helm test`'s hooks, which render-k8s.mjs leaves out.
      const { objects } = await renderRegion(region, ['--skip-tests']);
      const chart = expected(objects, false);
      const overlay = byKey(built);
      expect([...overlay.keys()].sort()).toEqual([...chart.keys()].sort());
      for (const [key, object] of chart) expect(overlay.get(key), key).toEqual(object);
      for (const object of built) await validateObject(object);
      // The hooks, where the region has any (the primary's setup Job), in setup/.
      const hooks = expected(objects, true);
      const dir = join(REPO, 'k8s/overlays', region, 'setup');
      expect(existsSync(dir), dir).toBe(hooks.size > 0);
      if (hooks.size > 0)
        expect(byKey(parseObjects(await exec('PARLEY_KUSTOMIZE', ['build', dir])))).toEqual(hooks);
    },
  );

  it('ships the setup hook as a plain Job of its own, in the namespace, managed by kustomize', async () => {
    const setup = parseObjects(
      await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, 'k8s/overlays/us-east/setup')]),
    );
    expect(setup.map((o) => o.kind)).toEqual(['Job']);
    const [job] = setup;
    expect(job!.metadata.name).toMatch(/^parley-setup-[0-9a-f]{10}$/);
    expect(job!.metadata).toMatchObject({ namespace: 'parley' });
    expect(job!.metadata.annotations ?? {}).toEqual({});
    expect(job!.spec.ttlSecondsAfterFinished).toBe(86400);
    await validateObject(job!);
    // Its spec is the hook's: the same migrations and topics.
    const hook = (await renderRegion('us-east')).objects.find(
      (o) => o.kind === 'Job' && o.metadata.name === 'parley-setup',
    )!;
    expect(job!.spec.template.spec).toEqual(hook.spec.template.spec);
    // A changed spec is a new Job (a Job's template cannot change in place).
    const upgraded = hookForKustomize({
      ...hook,
      spec: { ...hook.spec, activeDeadlineSeconds: 900 },
    }) as K8sObject;
    expect(upgraded.metadata.name).not.toBe(job!.metadata.name);
  });

  it('has no Helm hook, no managed-by Helm label and no object without the namespace anywhere', async () => {
    for (const dir of [
      'k8s/base',
      'k8s/base/setup',
      ...REGIONS.map((r) => `k8s/overlays/${r}`),
      'k8s/overlays/us-east/setup',
    ])
      for (const o of parseObjects(await exec('PARLEY_KUSTOMIZE', ['build', join(REPO, dir)]))) {
        const key = `${dir}: ${o.kind}/${o.metadata.name}`;
        expect(Object.keys(o.metadata.annotations ?? {}).join(), key).not.toMatch(/helm\.sh\/hook/);
        expect(JSON.stringify(o), key).not.toContain('"app.kubernetes.io/managed-by":"Helm"');
        expect((o.metadata as { namespace?: string }).namespace, key).toBe('parley');
      }
  });
});
