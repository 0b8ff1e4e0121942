import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@parley/observability';
import {
  EXTERNAL_METRICS,
  allPanels,
  expressions,
  renderedDashboards,
  selectors,
  variableRefs,
  type Dashboard,
  type Panel,
  type RenderedDashboard,
} from './dashboards.js';
import { CHART, REGIONS, REPO, renderRegion, type K8sObject, type Region } from './tools.js';
import { validateObject } from './validate.js';

/**
 * The Grafana dashboards the chart ships (helm/dashboards/*.json, one
 * ConfigMap each for Grafana's sidecar): rendered for every region, parsed,
 * checked for what Grafana needs to load them, and every PromQL expression
 * parsed with Prometheus' grammar, its metrics either found in Parley's
 * sources or named in the external allow-list. dashboards.int.test.ts checks
 * the same names against the running services' /metrics.
 */
const rendered = new Map<Region, { text: string; objects: K8sObject[] }>();
beforeAll(async () => {
  for (const region of REGIONS) rendered.set(region, await renderRegion(region));
});
const dashboards = (region: Region) => renderedDashboards(rendered.get(region)!.objects);

const FILES = async () =>
  (await readdir(join(CHART, 'dashboards'))).filter((f) => f.endsWith('.json')).sort();

/** What the issue asks the dashboards to show, by the metrics that show it. */
const REQUIRED_METRICS = {
  traffic: ['http_requests_total', 'gateway_messages_in_total', 'gateway_messages_out_total'],
  latency: ['http_request_duration_seconds_bucket'],
  errors: ['gateway_refused_total'],
  saturation: [
    'container_cpu_usage_seconds_total',
    'container_memory_working_set_bytes',
    'nodejs_eventloop_lag_p99_seconds',
    'process_open_fds',
  ],
  breakers: ['circuit_breaker_state'],
  degradation: ['ai_degradation_level'],
  consumerLag: ['kafka_consumergroup_lag'],
  replicaLag: ['pg_replica_lag_seconds'],
  hpa: [
    'kube_horizontalpodautoscaler_status_current_replicas',
    'kube_horizontalpodautoscaler_status_desired_replicas',
    'kube_horizontalpodautoscaler_spec_max_replicas',
  ],
};

const panelsUsing = (d: Dashboard, metric: string) =>
  allPanels(d).filter((p) =>
    (p.targets ?? []).some((t) => selectors(t.expr ?? '').some((s) => s.metric === metric)),
  );
const mappingTexts = (p: Panel) =>
  Object.fromEntries(
    (p.fieldConfig?.defaults?.mappings ?? [])
      .filter((m) => m.type === 'value')
      .flatMap((m) => Object.entries(m.options).map(([v, o]) => [v, o.text ?? ''])),
  );

describe.each(REGIONS)('the dashboards rendered for %s', (region) => {
  it('are one valid ConfigMap per JSON file, labelled for the sidecar, holding the file unchanged', async () => {
    const files = await FILES();
    expect(files.length).toBeGreaterThanOrEqual(4);
    const found = dashboards(region);
    expect(found.map((d) => d.key).sort()).toEqual(files.map((f) => `parley-${f}`));
    for (const { configMap, key, text } of found) {
      await validateObject(configMap);
      expect(configMap.metadata.name).toBe(`parley-dashboard-${key.slice(7, -5)}`);
      expect(configMap.metadata.annotations).toEqual({ grafana_folder: 'Parley' });
      expect(text).toBe((await readFile(join(CHART, 'dashboards', key.slice(7)), 'utf8')).trim());
      // kubectl apply keeps the whole object in an annotation limited to 256 KiB.
      expect(JSON.stringify(configMap).length, key).toBeLessThan(200 * 1024);
    }
  });

  it('have unique uids and titles, no fixed id, and the parley tag', () => {
    const found = dashboards(region).map((d) => d.dashboard);
    const uids = found.map((d) => d.uid);
    expect(new Set(uids).size).toBe(found.length);
    expect(new Set(found.map((d) => d.title)).size).toBe(found.length);
    for (const d of found) {
      expect(d.uid).toMatch(/^parley-[a-z0-9-]{1,33}$/);
      expect(d.title).toMatch(/^Parley \/ \S/);
      expect(d.id ?? null).toBeNull();
      expect(d.tags).toContain('parley');
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    }
  });

  it('pick the Prometheus data source, namespace and service from variables, and use no undefined variable', () => {
    for (const { key, dashboard } of dashboards(region)) {
      const variables = dashboard.templating?.list ?? [];
      const byName = new Map(variables.map((v) => [v.name, v]));
      expect(byName.get('datasource'), key).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
      });
      for (const name of ['namespace', 'service']) {
        expect(byName.get(name)?.type, `${key} ${name}`).toBe('query');
        expect(byName.get(name)?.datasource, `${key} ${name}`).toEqual({
          type: 'prometheus',
          uid: '${datasource}',
        });
      }
      expect(byName.get('service')).toMatchObject({ multi: true, includeAll: true });
      const texts = [
        ...allPanels(dashboard).flatMap((p) => [
          p.title ?? '',
          ...(p.targets ?? []).flatMap((t) => [t.expr ?? '', t.legendFormat ?? '']),
        ]),
        ...expressions(dashboard).map((e) => e.expr),
      ];
      for (const ref of texts.flatMap(variableRefs))
        expect(ref.startsWith('__') || byName.has(ref), `${key}: $${ref}`).toBe(true);
      for (const p of allPanels(dashboard).filter((p) => p.repeat)) {
        const v = byName.get(p.repeat!);
        expect(v?.multi || v?.includeAll, `${key} repeats ${p.repeat}`).toBe(true);
      }
    }
  });

  it('lay out panels with targets on the 24-column grid without overlaps', () => {
    for (const { key, dashboard } of dashboards(region)) {
      const panels = dashboard.panels ?? [];
      const ids = allPanels(dashboard).map((p) => p.id);
      expect(new Set(ids).size, key).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const where = `${key}: ${p.title}`;
        const { x, y, w, h } = p.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
        for (const n of [x, y, w, h]) expect(Number.isInteger(n) && n >= 0, where).toBe(true);
        expect(w > 0 && h > 0 && x + w <= 24, where).toBe(true);
        for (let i = x; i < x + w; i++)
          for (let j = y; j < y + h; j++) {
            expect(cells.has(`${i},${j}`), `${where} overlaps at ${i},${j}`).toBe(false);
            cells.add(`${i},${j}`);
          }
        if (p.type === 'row') continue;
        expect(p.title, where).toBeTruthy();
        expect(p.datasource, where).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets?.length, where).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size, where).toBe(refIds.length);
        for (const t of p.targets!) {
          expect(t.expr?.trim(), `${where}/${t.refId}`).toBeTruthy();
          expect(t.datasource, `${where}/${t.refId}`).toEqual(p.datasource);
        }
      }
      expect(panels.filter((p) => p.type !== 'row').length, key).toBeGreaterThanOrEqual(8);
    }
  });

  it('write every expression in valid PromQL, reading only metrics Parley exports or the allow-list names', async () => {
    const source = await platformSource();
    const external = new Set(Object.values(EXTERNAL_METRICS).flat());
    const used = new Set<string>();
    for (const { key, dashboard } of dashboards(region))
      for (const { where, expr } of expressions(dashboard)) {
        let found: ReturnType<typeof selectors> = [];
        expect(() => (found = selectors(expr)), `${key} ${where}`).not.toThrow();
        for (const { metric } of found) {
          used.add(metric);
          if (external.has(metric)) continue;
          // A histogram's series are its name with _bucket, _sum and _count.
          const base = metric.replace(/_(bucket|sum|count)$/, '');
          expect(
            source.has(metric) || source.has(base),
            `${key} ${where}: ${metric} is in no service's source`,
          ).toBe(true);
        }
      }
    for (const [topic, metrics] of Object.entries(REQUIRED_METRICS))
      for (const metric of metrics) expect(used, `${topic}: ${metric}`).toContain(metric);
    // The allow-list holds nothing the dashboards don't read.
    for (const metric of external) expect(used, metric).toContain(metric);
  });

  it('scope the services’ metrics to the namespace and service variables', () => {
    const external = new Set(Object.values(EXTERNAL_METRICS).flat());
    for (const { key, dashboard } of dashboards(region))
      for (const p of allPanels(dashboard))
        for (const t of p.targets ?? [])
          for (const s of selectors(t.expr ?? ''))
            if (!external.has(s.metric) && !s.metric.startsWith('parley_integrity_'))
              expect(s.labels, `${key} ${p.title}/${t.refId}: ${s.metric}`).toContain('namespace');
  });

  it('name the degradation levels L0 to L5 and the breaker states wherever they are shown', () => {
    const all = dashboards(region).map((d) => d.dashboard);
    const degradation = all.flatMap((d) => panelsUsing(d, 'ai_degradation_level'));
    expect(degradation.length).toBeGreaterThanOrEqual(2);
    for (const p of degradation)
      expect(Object.keys(mappingTexts(p)).sort(), p.title).toEqual(['0', '1', '2', '3', '4', '5']);
    for (const p of degradation)
      for (const [value, text] of Object.entries(mappingTexts(p)))
        expect(text, p.title).toMatch(new RegExp(`^L${value}\\b`));
    const breakers = all
      .flatMap((d) => panelsUsing(d, 'circuit_breaker_state'))
      .filter((p) => p.type === 'state-timeline');
    expect(breakers.length).toBeGreaterThanOrEqual(1);
    for (const p of breakers)
      expect(mappingTexts(p), p.title).toEqual({ '0': 'closed', '1': 'half-open', '2': 'open' });
  });

  it('hold no secret: no credentials, no data source settings, no fixed data source', () => {
    const { text } = rendered.get(region)!;
    expect(rendered.get(region)!.objects.filter((o) => o.kind === 'Secret')).toHaveLength(0);
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^\s"'@/]+:[^\s"'@/]+@/);
    expect(text).not.toMatch(/redis:\/\/[^\s"']*:[^\s"'@]+@/);
    expect(text).not.toMatch(/\bsk-[A-Za-z0-9]{8,}/);
    for (const { key, text: json } of dashboards(region)) {
      expect(json, key).not.toMatch(/https?:\/\/[^\s"/]*@/);
      expect(json, key).not.toMatch(/secureJsonData|basicAuth|password|apiKey|bearer/i);
      const uids = [...json.matchAll(/"uid":\s*"([^"]*)"/g)].map((m) => m[1]);
      for (const uid of uids.slice(1))
        expect(['${datasource}', '-- Grafana --'], key).toContain(uid);
    }
  });
});

describe('the dashboards values', () => {
  it('render the same dashboards in every region', () => {
    const texts = (region: Region) => dashboards(region).map((d) => d.text);
    for (const region of REGIONS) expect(texts(region), region).toEqual(texts('us-east'));
  });

  it('render none when dashboards.enabled is false', async () => {
    const { objects } = await renderRegion('us-east', ['--set', 'dashboards.enabled=false']);
    expect(objects.filter((o) => o.metadata.name.startsWith('parley-dashboard-'))).toEqual([]);
    expect(objects.length).toBeGreaterThan(40);
  });

  it("follow the sidecar's label, namespace and folder annotation from the values", async () => {
    const { objects } = await renderRegion('us-east', [
      '--set',
      'dashboards.label=grafana_dashboard_parley',
      '--set',
      'dashboards.labelValue=yes',
      '--set',
      'dashboards.namespace=monitoring',
      '--set',
      'dashboards.folderAnnotation=k8s-sidecar-target-directory',
      '--set',
      'dashboards.folder=/tmp/dashboards/parley',
    ]);
    expect(renderedDashboards(objects)).toEqual([]);
    const found: RenderedDashboard[] = renderedDashboards(
      objects,
      'grafana_dashboard_parley',
      'yes',
    );
    expect(found.length).toBe((await FILES()).length);
    for (const { configMap } of found) {
      expect(configMap.metadata).toMatchObject({
        namespace: 'monitoring',
        annotations: { 'k8s-sidecar-target-directory': '/tmp/dashboards/parley' },
      });
      await validateObject(configMap);
    }
    const noFolder = await renderRegion('us-east', ['--set', 'dashboards.folder=']);
    for (const { configMap } of renderedDashboards(noFolder.objects))
      expect(configMap.metadata.annotations).toBeUndefined();
  });
});

/**
 * The names Parley's code can export: every quoted string shaped like a metric
 * name in the services' and packages' sources, and the process metrics every
 * service's registry collects (the same createMetricsRegistry, in process).
 */
async function platformSource(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const top of ['packages', 'services'])
    for (const pkg of await readdir(join(REPO, top))) {
      const src = join(REPO, top, pkg, 'src');
      const files = await readdir(src, { recursive: true }).catch(() => [] as string[]);
      for (const file of files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')))
        for (const m of (await readFile(join(src, file), 'utf8')).matchAll(
          /['"]([a-z_][a-z0-9_]*)['"]/g,
        ))
          names.add(m[1]!);
    }
  const registry = createMetricsRegistry({ service: 'dashboards-check' });
  for (const metric of await registry.getMetricsAsJSON()) names.add(metric.name);
  return names;
}
