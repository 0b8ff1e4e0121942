import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import type { K8sObject } from './tools.js';

/** A Grafana data source reference. */
export interface DatasourceRef {
  type?: string;
  uid?: string;
}

/** A query of a panel. */
export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: DatasourceRef;
}

/** A panel or a row, as the dashboard JSON has it (the fields the checks read). */
export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: DatasourceRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  repeat?: string;
  panels?: Panel[];
  fieldConfig?: {
    defaults?: {
      mappings?: Array<{ type: string; options: Record<string, { text?: string }> }>;
    };
  };
}

/** A templating variable. */
export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DatasourceRef;
  multi?: boolean;
  includeAll?: boolean;
}

/** A dashboard, as the JSON has it. */
export interface Dashboard {
  id?: number | null;
  uid?: string;
  title?: string;
  tags?: string[];
  schemaVersion?: number;
  templating?: { list?: Variable[] };
  panels?: Panel[];
}

/** A dashboard ConfigMap's parts. */
export interface RenderedDashboard {
  configMap: K8sObject;
  key: string;
  text: string;
  dashboard: Dashboard;
}

/** The ConfigMaps Grafana's sidecar picks up (by its label), with their parsed JSON. */
export function renderedDashboards(
  objects: K8sObject[],
  label = 'grafana_dashboard',
  value = '1',
): RenderedDashboard[] {
  return objects
    .filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.[label] === value)
    .flatMap((configMap) =>
      Object.entries(configMap.data ?? {}).map(([key, text]) => ({
        configMap,
        key,
        text,
        dashboard: JSON.parse(text) as Dashboard,
      })),
    );
}

/** Every panel, rows' nested panels included (a collapsed row keeps its panels inside). */
export function allPanels(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression of a dashboard: its panels' targets, and its variables' queries. */
export function expressions(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const fromPanels = allPanels(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${p.title}/${t.refId}`, expr: t.expr ?? '' })),
  );
  const fromVariables = (dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      // label_values(<selector>, <label>): the selector is PromQL.
      const inner = /^label_values\((.*),\s*\w+\)$/s.exec(query.trim());
      return { where: `variable ${v.name}`, expr: inner ? inner[1]! : query };
    });
  return [...fromPanels, ...fromVariables];
}

/** A label matcher of a selector, as written (`label op "value"`). */
export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A vector selector: the metric it names, the labels its matchers use, and the matchers. */
export interface Selector {
  metric: string;
  labels: string[];
  matchers: Matcher[];
}

/** A PromQL string literal's value (double-quoted ones unescaped as Go strings, near enough). */
function stringValue(literal: string): string {
  const inner = literal.slice(1, -1);
  if (!literal.startsWith('"')) return inner;
  try {
    return JSON.parse(literal) as string;
  } catch {
    return inner;
  }
}

/** Grafana's interval variables stand where PromQL wants a duration. */
const GRAFANA_DURATION =
  /\$__(rate_interval|interval|range)(_ms|_s)?\b|\$\{__(rate_interval|interval|range)\}/g;

/**
 * Parses an expression with Prometheus' own grammar (@prometheus-io/lezer-promql)
 * and returns its vector selectors, or throws naming the first syntax error.
 * Template variables may stand in label values (strings) and durations.
 */
export function selectors(expr: string): Selector[] {
  const source = expr.replace(GRAFANA_DURATION, '5m');
  const tree = parser.parse(source);
  const found: Selector[] = [];
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined) error = node.from;
      if (node.name !== 'VectorSelector') return;
      const text = (n: SyntaxNode | null) => (n ? source.slice(n.from, n.to) : '');
      const labels: string[] = [];
      const matchers: Matcher[] = [];
      let metric = text(node.node.getChild('Identifier'));
      for (const m of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ??
        []) {
        const name = text(m.getChild('LabelName'));
        const value = stringValue(text(m.getChild('StringLiteral')));
        if (name === '__name__') metric = value;
        else {
          labels.push(name);
          matchers.push({ label: name, op: text(m.getChild('MatchOp')) as Matcher['op'], value });
        }
      }
      found.push({ metric, labels, matchers });
    },
  });
  if (error !== undefined)
    throw new Error(`PromQL syntax error at ${error}: ${source.slice(error, error + 40)}`);
  if (found.some((s) => !s.metric)) throw new Error(`a selector without a metric name: ${expr}`);
  return found;
}

/**
 * Metrics the dashboards read that Parley's services do not export, by who
 * does. Anything else must be on a service's /metrics.
 */
export const EXTERNAL_METRICS: Record<string, string[]> = {
  // Prometheus itself: one series per scrape target.
  prometheus: ['up'],
  'kube-state-metrics': [
    'kube_horizontalpodautoscaler_status_current_replicas',
    'kube_horizontalpodautoscaler_status_desired_replicas',
    'kube_horizontalpodautoscaler_spec_min_replicas',
    'kube_horizontalpodautoscaler_spec_max_replicas',
    'kube_pod_container_resource_requests',
    'kube_pod_container_resource_limits',
    'kube_pod_container_status_restarts_total',
  ],
  // The kubelet's cAdvisor endpoint.
  cadvisor: [
    'container_cpu_usage_seconds_total',
    'container_memory_working_set_bytes',
    'container_cpu_cfs_periods_total',
    'container_cpu_cfs_throttled_periods_total',
  ],
  // kafka_exporter (Strimzi's Kafka Exporter): the brokers' view of each group's lag (the
  // services' own kafka_consumer_lag, per member, is what the alert and the HPAs read).
  kafka_exporter: ['kafka_consumergroup_lag'],
};

/** Labels Prometheus adds to every scraped series (the ServiceMonitor's target labels). */
export const TARGET_LABELS = new Set([
  'namespace',
  'job',
  'pod',
  'instance',
  'service',
  'container',
  'endpoint',
]);

/** The variables a string refers to: `$name`, `${name}`, `${name:format}`, `[[name]]`. */
export function variableRefs(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map(
    (m) => (m[1] ?? m[2] ?? m[3])!,
  );
}
