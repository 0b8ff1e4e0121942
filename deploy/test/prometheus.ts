import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parse } from 'yaml';
import { TARGET_LABELS, selectors, type Matcher, type Selector } from './dashboards.js';
import type { Exposition } from './scrape.js';
import type { K8sObject } from './tools.js';

/**
 * What Prometheus (through the Prometheus Operator's ServiceMonitors) and
 * prometheus-adapter make of the services' /metrics, enough to check that the
 * chart's alerts and adapter rules select series that will exist: the target
 * labels a ServiceMonitor adds, how a clash with the service's own labels is
 * resolved (`honorLabels`), and which series a selector then matches.
 */

/** A series as Prometheus stores it: `__name__` and every label. */
export type Series = Record<string, string>;

/** One scrape target: the labels Prometheus gives it, and whether the scraped labels win a clash. */
export interface ScrapeTarget {
  labels: Record<string, string>;
  honorLabels: boolean;
}

/** Where the alerts and adapter rules read from: each source's exposition and its target. */
export type Sources = Map<string, { exposition: Exposition; target: ScrapeTarget }>;

/**
 * The target the Prometheus Operator makes of each ServiceMonitor endpoint
 * for a pod of the Service it selects, by the component it monitors: `job`
 * (the Service's name, or its `jobLabel` label), `namespace`, `service`,
 * `pod`, `container`, `endpoint` and `instance`.
 */
export function serviceMonitorTargets(
  objects: K8sObject[],
  namespace: string,
): Map<string, ScrapeTarget> {
  const targets = new Map<string, ScrapeTarget>();
  const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  for (const monitor of objects.filter((o) => o.kind === 'ServiceMonitor'))
    for (const service of objects.filter(
      (o) => o.kind === 'Service' && matches(monitor.spec.selector.matchLabels, o.metadata.labels),
    ))
      for (const endpoint of monitor.spec.endpoints as Array<{
        port: string;
        honorLabels?: boolean;
      }>) {
        const deployment = objects.find(
          (o) =>
            o.kind === 'Deployment' &&
            matches(service.spec.selector, o.spec.template.metadata.labels),
        );
        const port = (service.spec.ports as Array<{ name: string; port: number }>).find(
          (p) => p.name === endpoint.port,
        );
        const component = service.metadata.labels?.['app.kubernetes.io/component'];
        if (!deployment || !port || !component) continue;
        const pod = `${deployment.metadata.name}-5d8f7c9b4-x2x7q`;
        const jobLabel = monitor.spec.jobLabel as string | undefined;
        // targetLabels: the Service's labels, their names sanitized as the operator does.
        const copied = Object.fromEntries(
          ((monitor.spec.targetLabels ?? []) as string[])
            .filter((l) => service.metadata.labels?.[l] !== undefined)
            .map((l) => [l.replace(/[^a-zA-Z0-9_]/g, '_'), service.metadata.labels![l]!]),
        );
        targets.set(component, {
          honorLabels: endpoint.honorLabels === true,
          labels: {
            ...copied,
            job: (jobLabel && service.metadata.labels?.[jobLabel]) || service.metadata.name,
            namespace,
            service: service.metadata.name,
            pod,
            container: deployment.spec.template.spec.containers[0].name,
            endpoint: endpoint.port,
            instance: `${pod}:${port.port}`,
          },
        });
      }
  return targets;
}

/**
 * The Pushgateway's series as Prometheus stores them: it must be scraped with
 * honor_labels, so the pushed job (`parley_integrity`) stays.
 */
export const PUSHGATEWAY_TARGET: ScrapeTarget = {
  labels: { job: 'pushgateway', instance: '' },
  honorLabels: true,
};

/** parley-dr's pushed metrics as a source: its push's grouping key (job `parley_integrity`, the chart's `--release parley`) on every series. */
export function pushedSource(exposition: Exposition): {
  exposition: Exposition;
  target: ScrapeTarget;
} {
  return {
    exposition: {
      ...exposition,
      samples: exposition.samples.map((s) => ({
        ...s,
        labels: { ...s.labels, job: 'parley_integrity', release: 'parley' },
      })),
    },
    target: PUSHGATEWAY_TARGET,
  };
}

/**
 * The series Prometheus stores for a scraped sample: the target's labels
 * added; on a clash the scraped label wins with `honorLabels`, else it is
 * kept as `exported_<label>` and the target's wins.
 */
export function stored(name: string, labels: Record<string, string>, target: ScrapeTarget): Series {
  const series: Series = { __name__: name, ...target.labels };
  for (const [label, value] of Object.entries(labels)) {
    if (!(label in target.labels) || target.honorLabels) series[label] = value;
    else series[`exported_${label}`] = value;
  }
  return series;
}

/** Whether a series satisfies a matcher (Prometheus' anchored regexes; a missing label is ""). */
export function matches(series: Series, { label, op, value }: Matcher): boolean {
  const actual = series[label] ?? '';
  switch (op) {
    case '=':
      return actual === value;
    case '!=':
      return actual !== value;
    case '=~':
      return new RegExp(`^(?:${value})$`).test(actual);
    case '!~':
      return !new RegExp(`^(?:${value})$`).test(actual);
  }
}

/** A rule's expression and where the chart has it. */
export interface RuleExpression {
  where: string;
  expr: string;
}

interface AdapterRule {
  seriesQuery: string;
  resources: { overrides: Record<string, { resource: string }> };
  name: { matches: string; as: string };
  metricsQuery: string;
}

/**
 * Every expression the chart gives Prometheus and prometheus-adapter: the
 * PrometheusRules' alerts, and each adapter rule's series query and metrics
 * query (its template filled as the adapter fills it when an HPA asks for
 * the metric of pods, or of the namespace).
 */
export function ruleExpressions(objects: K8sObject[], namespace: string): RuleExpression[] {
  const alerts = objects
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((o) =>
      (o.spec.groups as Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>)
        .flatMap((g) => g.rules)
        .map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: String(r.expr) })),
    );
  const adapter = objects.flatMap((o) => {
    const config =
      o.kind === 'ConfigMap' && o.metadata.name.endsWith('prometheus-adapter')
        ? o.data?.['config.yaml']
        : undefined;
    if (!config) return [];
    const { rules = [], externalRules = [] } = parse(config) as {
      rules?: AdapterRule[];
      externalRules?: AdapterRule[];
    };
    return [...rules, ...externalRules].flatMap((rule) => {
      const series = selectors(rule.seriesQuery)[0]!.metric;
      const resources = Object.keys(rule.resources.overrides);
      const groupBy = resources.includes('pod') ? 'pod' : 'namespace';
      // An HPA's external metric adds its selector's labels (the adapter's LabelMatchers).
      const selector = groupBy === 'namespace' ? externalSelector(objects, rule.name.as) : {};
      const labelMatchers = [
        ...resources.map((label) =>
          label === 'namespace' ? `namespace="${namespace}"` : `${label}=~".+"`,
        ),
        ...Object.entries(selector).map(([label, value]) => `${label}="${value}"`),
      ].join(',');
      const query = rule.metricsQuery
        .replaceAll('<<.Series>>', series)
        .replaceAll('<<.LabelMatchers>>', labelMatchers)
        .replaceAll('<<.GroupBy>>', groupBy);
      return [
        { where: `adapter ${rule.name.as} seriesQuery`, expr: rule.seriesQuery },
        { where: `adapter ${rule.name.as} metricsQuery`, expr: query },
      ];
    });
  });
  return [...alerts, ...adapter];
}

/** The matchLabels of the rendered HPAs' selector for the external metric `name`. */
function externalSelector(objects: K8sObject[], name: string): Record<string, string> {
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler'))
    for (const m of hpa.spec.metrics as Array<{
      type: string;
      external?: { metric: { name: string; selector?: { matchLabels?: Record<string, string> } } };
    }>)
      if (m.type === 'External' && m.external?.metric.name === name)
        return m.external.metric.selector?.matchLabels ?? {};
  return {};
}

/** The labels each `by (...)` aggregation of an expression keeps, with the metrics under it. */
export function groupings(expr: string): Array<{ labels: string[]; metrics: string[] }> {
  const tree = parser.parse(expr);
  const found: Array<{ labels: string[]; metrics: string[] }> = [];
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(node) {
      if (node.name !== 'AggregateExpr') return;
      const modifier = node.node.getChild('AggregateModifier');
      if (!modifier?.getChild('By')) return;
      const labels = (modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map(
        text,
      );
      const body = node.node.getChild('FunctionCallBody');
      found.push({ labels, metrics: body ? selectors(text(body)).map((s) => s.metric) : [] });
    },
  });
  return found;
}

/** Every label the series of a source carry: those on all its samples (the registry's default labels). */
function defaultLabels(exposition: Exposition): Record<string, string> {
  const [first, ...rest] = exposition.samples;
  const common: Record<string, string> = { ...first?.labels };
  for (const { labels } of rest)
    for (const label of Object.keys(common))
      if (labels[label] !== common[label]) delete common[label];
  return common;
}

/**
 * The series of one metric as Prometheus would store them: each source's
 * samples of it; for a source that declares the metric but has no sample yet,
 * one series with only the labels every series of it carries (`sampled` false).
 */
function seriesOf(metric: string, sources: Sources): Array<{ series: Series; sampled: boolean }> {
  const out: Array<{ series: Series; sampled: boolean }> = [];
  for (const { exposition, target } of sources.values()) {
    if (metric === 'up') {
      // Prometheus' own series per target: the target's labels only.
      if (target !== PUSHGATEWAY_TARGET)
        out.push({ series: stored('up', {}, target), sampled: true });
      continue;
    }
    const samples = exposition.samples.filter((s) => s.name === metric);
    for (const { labels } of samples)
      out.push({ series: stored(metric, labels, target), sampled: true });
    const declared = [...exposition.types].some(
      ([name, type]) =>
        name === metric ||
        (['histogram', 'summary'].includes(type) &&
          [`${name}_bucket`, `${name}_sum`, `${name}_count`].includes(metric)),
    );
    if (samples.length === 0 && declared)
      out.push({ series: stored(metric, defaultLabels(exposition), target), sampled: false });
  }
  return out;
}

type Found = Array<{ series: Series; sampled: boolean }>;

/** The labels that say where a series comes from: the targets', and those every series of a source carries. */
function identityLabels(sources: Sources): Set<string> {
  const identity = new Set(TARGET_LABELS);
  for (const { exposition, target } of sources.values()) {
    for (const label of Object.keys(target.labels)) identity.add(label);
    for (const label of Object.keys(defaultLabels(exposition))) identity.add(label);
  }
  return identity;
}

/** What the stored series have instead, for each identity label a selector names. */
function describeMiss(selector: Selector, all: Found, identity: Set<string>): string {
  const values = (label: string) =>
    [...new Set(all.map(({ series }) => series[label]).filter((v) => v !== undefined))]
      .map((v) => `"${v}"`)
      .join('|');
  return selector.matchers
    .filter((m) => identity.has(m.label))
    .map(({ label }) => {
      const exported = values(`exported_${label}`);
      return `${label}=${values(label) || '(none)'}${exported ? ` exported_${label}=${exported}` : ''}`;
    })
    .join(', ');
}

/**
 * What would go wrong with each selector of the expressions: a metric no
 * source exports; matchers on the labels that say where a series comes from
 * (the target's, and those every series of a source carries, such as
 * `service`) that no stored series satisfies; a matched or grouped label that
 * no matching series carries. Empty when every selector finds its series.
 */
export function selectorProblems(expressions: RuleExpression[], sources: Sources): string[] {
  const identity = identityLabels(sources);
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    const found = new Map<string, Found>();
    for (const selector of selectors(expr)) {
      const all = seriesOf(selector.metric, sources);
      const matching = all.filter(({ series }) =>
        selector.matchers.every((m) => !identity.has(m.label) || matches(series, m)),
      );
      found.set(selector.metric, [...(found.get(selector.metric) ?? []), ...matching]);
      const text = `${where}: ${selector.metric}{${selector.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(',')}}`;
      if (all.length === 0) problems.push(`${text} reads a metric nothing exports`);
      else if (matching.length === 0)
        problems.push(
          `${text} matches no stored series; they have ${describeMiss(selector, all, identity)}`,
        );
      // Other labels (status, group, ...) vary with the data: the series must carry them.
      const sampled = matching.filter((m) => m.sampled);
      for (const { label } of selector.matchers)
        if (!identity.has(label) && sampled.length > 0 && !sampled.some((m) => label in m.series))
          problems.push(`${text}: no series carries ${label}`);
    }
    for (const { labels, metrics } of groupings(expr))
      for (const metric of metrics)
        for (const label of labels) {
          const matching = found.get(metric) ?? [];
          const carriers = identity.has(label) ? matching : matching.filter((m) => m.sampled);
          if (carriers.length > 0 && !carriers.some((m) => label in m.series))
            problems.push(`${where}: ${metric} has no ${label} to group by`);
        }
  }
  return problems;
}
