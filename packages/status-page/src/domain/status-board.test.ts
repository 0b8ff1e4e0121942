import { describe, expect, it } from 'vitest';
import type { HealthState } from '@parley/service-kit';
import { PROBE_COMPONENT, StatusBoard, type BoardReport } from './status-board.js';

const T0 = Date.parse('2026-11-26T10:00:00Z');

function clock() {
  let now = T0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function report(
  service: string,
  instance: string,
  state: HealthState,
  at: number,
  extra: Partial<BoardReport> = {},
): BoardReport {
  return {
    v: 1,
    service,
    instance,
    components: [service],
    state,
    at: new Date(at).toISOString(),
    ttlMs: 90_000,
    dependencies: {},
    ...extra,
  };
}

describe('StatusBoard', () => {
  it("shows each component as its best fresh instance's state", () => {
    const c = clock();
    const board = new StatusBoard({ components: ['gateway', 'chat', 'ai'], now: c.now });
    board.ingest(report('gateway', 'gw-0', 'critical', c.now()));
    board.ingest(report('gateway', 'gw-1', 'healthy', c.now()));
    board.ingest(report('chat', 'chat-0', 'degraded', c.now()));
    board.ingest(report('chat', 'chat-1', 'critical', c.now()));
    board.ingest(report('ai', 'ai-0', 'healthy', c.now()));
    const view = board.view({ feedUp: true });
    expect(view.components).toEqual([
      { id: 'gateway', state: 'operational', stale: false, instances: 2 },
      { id: 'chat', state: 'degraded', stale: false, instances: 2 },
      { id: 'ai', state: 'operational', stale: false, instances: 1 },
    ]);
    expect(view.overall).toBe('degraded');
    expect(view.stale).toBe(false);
  });

  it('shows no data for a component whose reports are older than their TTL, and calls that an outage', () => {
    const c = clock();
    const board = new StatusBoard({ components: ['gateway', 'chat'], now: c.now });
    board.ingest(report('gateway', 'gw-0', 'healthy', c.now()));
    board.ingest(report('chat', 'chat-0', 'healthy', c.now()));
    c.advance(60_000);
    board.ingest(report('gateway', 'gw-0', 'healthy', c.now()));
    c.advance(31_000); // chat's last report is now 91 s old, past its 90 s TTL
    const view = board.view({ feedUp: true });
    expect(view.components.map((x) => [x.id, x.state])).toEqual([
      ['gateway', 'operational'],
      ['chat', 'no_data'],
    ]);
    expect(view.overall).toBe('partial_outage');
    c.advance(60_000);
    expect(board.view({ feedUp: true }).overall).toBe('major_outage');
  });

  it('shows the last-known states marked stale while the feed is down, instead of no data', () => {
    const c = clock();
    const board = new StatusBoard({ components: ['gateway', 'chat', 'ai'], now: c.now });
    // chat-0 died long ago (healthy then); chat-1 was degraded when reports stopped.
    board.ingest(report('chat', 'chat-0', 'healthy', c.now()));
    c.advance(600_000);
    board.ingest(report('chat', 'chat-1', 'degraded', c.now()));
    board.ingest(
      report('ai', 'ai-0', 'healthy', c.now(), { degradation: { level: 'L2', reasons: [] } }),
    );
    c.advance(120_000);
    // This gateway's own report keeps coming (its monitor runs in-process).
    board.ingest(report('gateway', 'gw-0', 'healthy', c.now()));
    const view = board.view({ feedUp: false });
    expect(view.stale).toBe(true);
    expect(view.components).toEqual([
      { id: 'gateway', state: 'operational', stale: false, instances: 1 },
      { id: 'chat', state: 'degraded', stale: true, instances: 0 },
      { id: 'ai', state: 'operational', stale: true, instances: 0 },
    ]);
    expect(view.level).toBe('L2');
    // Once the feed is back, old reports are no data again.
    expect(board.view({ feedUp: true }).components[1]!.state).toBe('no_data');
    expect(board.view({ feedUp: true }).level).toBeNull();
  });

  it("shows the worst fresh AI instance's level, ignoring expired ones", () => {
    const c = clock();
    const board = new StatusBoard({ components: ['ai'], now: c.now });
    const ai = (instance: string, level: string) =>
      report('ai', instance, 'healthy', c.now(), { degradation: { level, reasons: ['x'] } });
    board.ingest(ai('ai-0', 'L4'));
    c.advance(100_000);
    board.ingest(ai('ai-1', 'L1'));
    board.ingest(ai('ai-2', 'L0'));
    expect(board.view({ feedUp: true }).level).toBe('L1');
    board.ingest(ai('ai-2', 'L3'));
    const view = board.view({ feedUp: true });
    expect(view.level).toBe('L3');
    expect(view.overall).toBe('degraded');
    board.ingest(ai('ai-1', 'L5'));
    expect(board.view({ feedUp: true }).overall).toBe('major_outage');
  });

  it('keeps the newer report of a process when an older one arrives late (a snapshot)', () => {
    const c = clock();
    const board = new StatusBoard({ components: ['chat'], now: c.now });
    board.ingest(report('chat', 'chat-0', 'critical', c.now()));
    board.restore([
      { report: report('chat', 'chat-0', 'healthy', c.now() - 5_000), receivedAt: c.now() },
    ]);
    expect(board.view({ feedUp: true }).components[0]!.state).toBe('outage');
    expect(board.snapshot()).toHaveLength(1);
  });

  it("adds the probe's row once it reports, from its last run", () => {
    const c = clock();
    const board = new StatusBoard({ components: ['gateway'], now: c.now });
    board.ingest(report('gateway', 'gw-0', 'healthy', c.now()));
    expect(board.view({ feedUp: true }).components.map((x) => x.id)).toEqual(['gateway']);
    const run = (success: boolean) =>
      report('probe', 'parley-probe', success ? 'healthy' : 'critical', c.now(), {
        components: [PROBE_COMPONENT],
        ttlMs: 180_000,
        probe: { success, at: new Date(c.now()).toISOString(), latencySeconds: { total: 1.5 } },
      });
    board.ingest(run(false));
    let view = board.view({ feedUp: true });
    expect(view.components[1]).toMatchObject({ id: PROBE_COMPONENT, state: 'outage' });
    expect(view.probe).toMatchObject({ success: false, fresh: true });
    c.advance(60_000);
    board.ingest(run(true));
    view = board.view({ feedUp: true });
    expect(view.components[1]!.state).toBe('operational');
    expect(view.overall).toBe('operational');
    c.advance(181_000);
    view = board.view({ feedUp: true });
    expect(view.components[1]!.state).toBe('no_data');
    expect(view.probe).toMatchObject({ success: true, fresh: false });
  });

  it('forgets entries past the retention and keeps at most maxEntries', () => {
    const c = clock();
    const board = new StatusBoard({
      components: ['chat'],
      retainMs: 3_600_000,
      maxEntries: 3,
      now: c.now,
    });
    for (let i = 0; i < 5; i++) board.ingest(report('chat', `chat-${i}`, 'healthy', c.now()));
    expect(board.snapshot().map((e) => e.report.instance)).toEqual(['chat-2', 'chat-3', 'chat-4']);
    c.advance(3_600_001);
    expect(board.snapshot()).toEqual([]);
    expect(board.view({ feedUp: false }).components[0]!.state).toBe('no_data');
  });
});
