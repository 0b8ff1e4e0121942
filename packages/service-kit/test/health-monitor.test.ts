import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { HealthMonitor, Readiness } from '../src/index.js';
import { build } from './build.js';

describe('HealthMonitor', () => {
  let clock = Date.parse('2026-11-26T10:00:00Z');
  const now = () => clock;
  const up = { postgres: true, llm: true };
  const readiness = () => {
    const r = new Readiness(500);
    r.add('postgres', async () => {
      if (!up.postgres) throw new Error('connect ECONNREFUSED');
    });
    r.add(
      'llm',
      async () => {
        if (!up.llm) throw new Error('breaker open');
      },
      { critical: false },
    );
    return r;
  };

  it('keeps the last results per dependency, with availability and mean time to recovery', async () => {
    const monitor = new HealthMonitor(readiness(), { keep: 100, now });
    // 130 checks, 30 s apart: postgres down twice, for 60 s and for 120 s.
    for (let i = 0; i < 130; i++) {
      up.postgres = !((i >= 40 && i < 42) || (i >= 80 && i < 84));
      await monitor.check();
      clock += 30_000;
    }
    const { state, dependencies } = monitor.summary();
    expect(state).toBe('healthy');
    const pg = dependencies.postgres!;
    expect(pg.samples).toHaveLength(100);
    expect(pg.recoveries).toBe(2);
    expect(pg.mttrSeconds).toBe(90);
    // The kept 100 (checks 30 to 129) hold 6 failures.
    expect(pg.availability).toBeCloseTo(0.94);
    expect(pg.downForSeconds).toBeNull();
  });

  it('is degraded when only an optional dependency is down, critical when an essential one is', async () => {
    const r = readiness();
    const monitor = new HealthMonitor(r, { now });
    up.postgres = true;
    up.llm = false;
    const report = await monitor.check();
    // An optional dependency does not make the service unready.
    expect(report.status).toBe('ready');
    expect(monitor.summary().state).toBe('degraded');
    up.postgres = false;
    await monitor.check();
    clock += 45_000;
    const summary = monitor.summary();
    expect(summary.state).toBe('critical');
    expect(summary.dependencies.postgres).toMatchObject({
      status: 'down',
      critical: true,
      downForSeconds: 45,
    });
    expect(summary.dependencies.llm).toMatchObject({ status: 'down', critical: false });
    up.postgres = true;
    up.llm = true;
  });
});

describe('the health monitor in every service', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('serves its history at /readyz/history and its figures as metrics', async () => {
    ({ app } = build());
    let postgresUp = false;
    app.readiness.add('postgres', async () => {
      if (!postgresUp) throw new Error('down');
    });
    await app.ready();
    await app.inject({ method: 'GET', url: '/readyz' });
    postgresUp = true;
    await app.inject({ method: 'GET', url: '/readyz' });
    const history = (await app.inject({ method: 'GET', url: '/readyz/history' })).json();
    expect(history.state).toBe('healthy');
    expect(history.dependencies.postgres.recoveries).toBe(1);
    expect(
      history.dependencies.postgres.samples.map((s: { status: string }) => s.status),
    ).toContain('down');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^health_state\{service="kit-test"\} 0$/m);
    expect(metrics).toMatch(/^health_dependency_up\{.*dependency="postgres".*\} 1$/m);
    expect(metrics).toMatch(
      /^health_dependency_mttr_seconds\{.*dependency="postgres".*\} [0-9.]+$/m,
    );
  });
});
