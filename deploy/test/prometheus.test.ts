import { describe, expect, it } from 'vitest';
import {
  groupings,
  matches,
  pushedSource,
  selectorProblems,
  stored,
  type ScrapeTarget,
  type Sources,
} from './prometheus.js';
import { parseExposition } from './scrape.js';

const target = (honorLabels: boolean): ScrapeTarget => ({
  honorLabels,
  labels: {
    job: 'parley-ai',
    namespace: 'parley',
    service: 'parley-ai',
    pod: 'parley-ai-0',
    container: 'ai',
    endpoint: 'http',
    instance: 'parley-ai-0:8082',
  },
});

const AI = parseExposition(
  [
    '# TYPE kafka_consumer_lag gauge',
    'kafka_consumer_lag{group="ai",topic="conversation-events",partition="0",service="ai"} 3',
    '# TYPE circuit_breaker_state gauge',
    '# TYPE process_open_fds gauge',
    'process_open_fds{service="ai"} 20',
  ].join('\n'),
);

const sources = (honorLabels: boolean): Sources =>
  new Map([
    ['ai', { exposition: AI, target: target(honorLabels) }],
    [
      'parley-dr',
      pushedSource(
        parseExposition(
          'parley_integrity_findings{check="orphaned_messages",severity="critical"} 0',
        ),
      ),
    ],
  ]);

const rule = (expr: string) => [{ where: 'rule', expr }];

describe('the scrape as Prometheus stores it', () => {
  it('keeps a clashing label as exported_<label> unless the target honors the scraped labels', () => {
    expect(stored('x', { service: 'ai', group: 'g' }, target(false))).toMatchObject({
      service: 'parley-ai',
      exported_service: 'ai',
      group: 'g',
    });
    const honored = stored('x', { service: 'ai' }, target(true));
    expect(honored).toMatchObject({ service: 'ai', job: 'parley-ai', pod: 'parley-ai-0' });
    expect(honored).not.toHaveProperty('exported_service');
  });

  it('matches as PromQL does: anchored regexes, a missing label as the empty string', () => {
    const series = { __name__: 'x', service: 'ai' };
    expect(matches(series, { label: 'service', op: '=~', value: 'a' })).toBe(false);
    expect(matches(series, { label: 'service', op: '=~', value: 'a.*' })).toBe(true);
    expect(matches(series, { label: 'pod', op: '!=', value: '' })).toBe(false);
    expect(matches(series, { label: 'pod', op: '!~', value: '.+' })).toBe(true);
  });

  it('reads the labels each by-aggregation keeps, with the metrics under it', () => {
    expect(
      groupings('histogram_quantile(0.95, sum(rate(a_bucket{x="1"}[2m])) by (le, pod)) + sum(b)'),
    ).toEqual([{ labels: ['le', 'pod'], metrics: ['a_bucket'] }]);
  });
});

describe('selectorProblems', () => {
  it('passes selectors on the service label when the services’ labels win, and names the clash when they do not', () => {
    const expr = 'sum(kafka_consumer_lag{service="ai",namespace!="",pod!=""}) by (pod)';
    expect(selectorProblems(rule(expr), sources(true))).toEqual([]);
    const [problem, ...more] = selectorProblems(rule(expr), sources(false));
    expect(more).toEqual([]);
    expect(problem).toContain('matches no stored series');
    expect(problem).toContain('service="parley-ai" exported_service="ai"');
  });

  it('names a metric nothing exports', () => {
    expect(
      selectorProblems(rule('sum(kafka_consumergroup_lag{namespace="parley"})'), sources(true)),
    ).toEqual(['rule: kafka_consumergroup_lag{namespace="parley"} reads a metric nothing exports']);
  });

  it('names a matched or grouped label no series carries, and lets a declared metric without samples pass', () => {
    expect(
      selectorProblems(
        rule('sum by (group, queue) (kafka_consumer_lag{namespace="parley", topic!="", lane="a"})'),
        sources(true),
      ),
    ).toEqual([
      'rule: kafka_consumer_lag{namespace="parley",topic!="",lane="a"}: no series carries lane',
      'rule: kafka_consumer_lag has no queue to group by',
    ]);
    expect(
      selectorProblems(
        rule('max by (service, dependency) (circuit_breaker_state{namespace="parley"}) == 2'),
        sources(true),
      ),
    ).toEqual([]);
  });

  it('reads up with the target labels only, and pushed series with their job', () => {
    expect(
      selectorProblems(
        rule(
          'up{namespace="parley", job=~"parley-.*"} == 0 or parley_integrity_findings{job="parley_integrity", severity="critical"}',
        ),
        sources(true),
      ),
    ).toEqual([]);
    expect(selectorProblems(rule('up{service="ai"}'), sources(true))).toHaveLength(1);
  });
});
