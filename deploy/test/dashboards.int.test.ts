import { beforeAll, describe, expect, it } from 'vitest';
import { infraEnv } from '@parley/testing';
import {
  EXTERNAL_METRICS,
  TARGET_LABELS,
  expressions,
  renderedDashboards,
  selectors,
  type Dashboard,
} from './dashboards.js';
import { SERVICES, exported as exportedBy, scrapePlatform, type Scraped } from './scrape.js';
import { renderRegion } from './tools.js';

/**
 * The dashboards against what the platform really exports (see
 * `scrapePlatform`: every service as a real process on the test
 * infrastructure, and what parley-dr pushes). Every metric an expression
 * reads must be among them or on the external allow-list, and every label it
 * matches must be one the metric carries or one Prometheus adds.
 */
let scraped: Scraped = new Map();
let dashboards: Array<{ key: string; dashboard: Dashboard }> = [];

beforeAll(async () => {
  infraEnv(); // throws with the command to run when the infrastructure is down
  dashboards = renderedDashboards((await renderRegion('us-east')).objects);
  scraped = await scrapePlatform();
}, 300_000);

const exported = () => exportedBy(scraped);

describe('the dashboards against the running services', () => {
  it('read only metrics a service exports, parley-dr pushes, or the allow-list names', () => {
    const names = exported();
    const external = new Set(Object.values(EXTERNAL_METRICS).flat());
    const missing: string[] = [];
    for (const { key, dashboard } of dashboards)
      for (const { where, expr } of expressions(dashboard))
        for (const { metric } of selectors(expr))
          if (!names.has(metric) && !external.has(metric))
            missing.push(`${key} ${where}: ${metric}`);
    expect(missing).toEqual([]);
    // Nothing on the allow-list is one of Parley's own.
    for (const metric of external) expect(names.has(metric), metric).toBe(false);
  });

  it('match only labels the metrics carry or Prometheus adds', () => {
    const names = exported();
    let checked = 0;
    const wrong: string[] = [];
    for (const { key, dashboard } of dashboards)
      for (const { where, expr } of expressions(dashboard))
        for (const { metric, labels } of selectors(expr)) {
          const carried = names.get(metric);
          if (!carried) continue; // external, or no sample to show its labels
          checked++;
          for (const label of labels)
            if (!TARGET_LABELS.has(label) && !carried.has(label))
              wrong.push(`${key} ${where}: ${metric}{${label}}`);
        }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it.each(SERVICES)('finds on %s every metric the per-service rows read', (service) => {
    const { types } = scraped.get(service)!;
    for (const metric of [
      'http_requests_total',
      'http_request_duration_seconds',
      'health_state',
      'health_dependency_up',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_lag_mean_seconds',
      'process_open_fds',
      'process_max_fds',
    ])
      expect(types.has(metric), metric).toBe(true);
  });
});
