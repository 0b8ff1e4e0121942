import { beforeAll, describe, expect, it } from 'vitest';
import { infraEnv } from '@parley/testing';
import {
  pushedSource,
  ruleExpressions,
  selectorProblems,
  serviceMonitorTargets,
  stored,
  type RuleExpression,
  type ScrapeTarget,
  type Sources,
} from './prometheus.js';
import { CONSUMERS, SERVICES, scrapePlatform, type Scraped } from './scrape.js';
import { CHART, exec, parseObjects, renderRegion, type K8sObject } from './tools.js';

/**
 * The alerts and the prometheus-adapter rules against what the platform
 * really exports (`scrapePlatform`: every service as a real process on the
 * test infrastructure, and what parley-dr pushes), with the labels Prometheus
 * stores through the chart's ServiceMonitors: every selector must find its
 * series, with the labels it matches and groups by.
 */
const NAMESPACE = 'parley';
let objects: K8sObject[] = [];
let expressions: RuleExpression[] = [];
let targets = new Map<string, ScrapeTarget>();
let scraped: Scraped = new Map();

beforeAll(async () => {
  infraEnv(); // throws with the command to run when the infrastructure is down
  objects = (await renderRegion('us-east')).objects;
  expressions = ruleExpressions(objects, NAMESPACE);
  targets = serviceMonitorTargets(objects, NAMESPACE);
  scraped = await scrapePlatform();
}, 300_000);

/** The services' and parley-dr's series, scraped through `targetOf` each service's target. */
function sources(targetOf: (service: string) => ScrapeTarget = (s) => targets.get(s)!): Sources {
  const all: Sources = new Map();
  for (const service of SERVICES)
    all.set(service, { exposition: scraped.get(service)!, target: targetOf(service) });
  all.set('parley-dr', pushedSource(scraped.get('parley-dr')!));
  return all;
}

describe('the alerts and adapter rules against the running services', () => {
  it('has a ServiceMonitor target for every service and reads every alert and adapter rule', () => {
    expect([...targets.keys()].sort()).toEqual([...SERVICES].sort());
    expect(expressions.filter((e) => e.where.startsWith('alert ')).length).toBeGreaterThan(8);
    expect(expressions.map((e) => e.where)).toEqual(
      expect.arrayContaining([
        'alert ParleyConsumerLag',
        'adapter ai_queue_depth seriesQuery',
        'adapter embedding_queue_depth metricsQuery',
        'adapter gateway_requests_per_second seriesQuery',
      ]),
    );
  });

  it('select only series the services export, with the labels Prometheus stores', () => {
    expect(selectorProblems(expressions, sources())).toEqual([]);
  });

  it('finds none of this release’s series for another release’s alerts and queue metric (two releases in one namespace)', async () => {
    const canary = parseObjects(
      await exec('PARLEY_HELM', [
        'template',
        'canary',
        CHART,
        '--namespace',
        NAMESPACE,
        '-f',
        `${CHART}/values-us-east.yaml`,
      ]),
    );
    const other = ruleExpressions(canary, NAMESPACE);
    const problems = selectorProblems(other, sources()).join('\n');
    for (const rule of [
      'alert ParleyHealthFailing',
      'alert ParleyHighErrorRate',
      'alert ParleyConsumerLag',
      'alert ParleyDegraded',
      'alert ParleyIntegrityCritical',
      'adapter hitl_queue_size metricsQuery',
    ])
      expect(problems).toMatch(
        new RegExp(`^${rule}: .*(app_kubernetes_io_instance|release)="canary"`, 'm'),
      );
  });

  it('would find nothing for the rules that select on service if the services’ labels lost the clash', () => {
    const problems = selectorProblems(
      expressions,
      sources((s) => ({ ...targets.get(s)!, honorLabels: false })),
    );
    for (const rule of [
      'gateway_requests_per_second',
      'active_sessions',
      'ai_queue_depth',
      'embedding_queue_depth',
    ])
      expect(problems.join('\n')).toContain(`adapter ${rule} seriesQuery`);
  });

  it.each(Object.entries(CONSUMERS))(
    'stores the lag of %s for its own group, with the labels the alert groups by and the HPAs select on',
    (service) => {
      const target = targets.get(service)!;
      const lag = scraped
        .get(service as keyof typeof CONSUMERS)!
        .samples.filter((s) => s.name === 'kafka_consumer_lag')
        .map((s) => stored(s.name, s.labels, target));
      expect(lag.length).toBeGreaterThan(0);
      for (const series of lag)
        expect(series).toMatchObject({
          service,
          namespace: NAMESPACE,
          pod: target.labels.pod,
          group: expect.stringMatching(new RegExp(`^${service}-scrape-`)),
          partition: '0',
        });
    },
  );
});
