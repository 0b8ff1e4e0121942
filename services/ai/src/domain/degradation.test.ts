import { describe, expect, it } from 'vitest';
import { DegradationManager, levelNumber, type DegradationLevel } from './degradation.js';

function manager(extra: ConstructorParameters<typeof DegradationManager>[0] = {}) {
  let now = 1_000_000;
  const changes: Array<[DegradationLevel, DegradationLevel]> = [];
  const m = new DegradationManager({
    now: () => now,
    onChange: (next, previous) => changes.push([next, previous]),
    ...extra,
  });
  return { m, changes, advance: (ms: number) => (now += ms) };
}

const up = async () => true;
const down = async () => {
  throw new Error('connect ECONNREFUSED');
};

describe('DegradationManager', () => {
  it('starts at L0 and stays there while models answer quickly', () => {
    const { m } = manager();
    for (let i = 0; i < 10; i++) m.record(true, 800);
    expect(m.level).toBe('L0');
  });

  it('moves to L1 on the first failure that takes the error rate to 20 %, and back to L0 once it ages out of the window', () => {
    const { m, changes, advance } = manager();
    for (let i = 0; i < 4; i++) m.record(true, 500);
    m.record(false, 30_000);
    expect(m.level).toBe('L1');
    expect(m.status().reasons[0]).toMatch(/1 of 5 model attempts failed/);
    advance(60_001);
    m.record(true, 500);
    expect(m.level).toBe('L0');
    expect(changes).toEqual([
      ['L1', 'L0'],
      ['L0', 'L1'],
    ]);
  });

  it('returns to L0 once 15 s pass without a failure, though the failures are still in the window', () => {
    const { m, advance } = manager();
    for (let i = 0; i < 6; i++) m.record(false, 1_500);
    m.record(true, 500);
    expect(m.level).toBe('L1');
    advance(10_000);
    m.record(true, 500);
    expect(m.level).toBe('L1');
    advance(5_001);
    m.record(true, 500);
    expect(m.status().models.failures).toBe(6);
    expect(m.level).toBe('L0');
  });

  it('counts slow answers (median over 5 s) as degraded models', () => {
    const { m } = manager();
    for (const ms of [6_000, 7_000, 4_000]) m.record(true, ms);
    expect(m.level).toBe('L1');
    expect(m.status().reasons[0]).toMatch(/median model answer over 5000 ms/);
  });

  it('reads L2 when knowledge is down and L3 when the backend is down', async () => {
    expect((await manager({ checks: { knowledge: down } }).m.assess()).level).toBe('L2');
    expect((await manager({ checks: { backend: async () => false } }).m.assess()).level).toBe('L3');
    expect((await manager({ checks: { knowledge: up, backend: up } }).m.assess()).level).toBe('L0');
  });

  it('reads L4 when two systems are out and L5 when all three are, or models are out and no human can help', async () => {
    const two = manager({ checks: { knowledge: down, backend: down } });
    expect((await two.m.assess()).level).toBe('L4');
    const all = manager({
      checks: { knowledge: down, backend: down },
      modelsDown: async () => true,
    });
    expect((await all.m.assess()).level).toBe('L5');
    const nobody = manager({ checks: { humans: down }, modelsDown: async () => true });
    expect((await nobody.m.assess()).level).toBe('L5');
    const cooling = manager({ modelsDown: async () => true });
    expect((await cooling.m.assess()).level).toBe('L1');
  });

  it('treats a check that hangs past its time limit as down', async () => {
    const { m } = manager({
      checkTimeoutMs: 50,
      checks: { knowledge: () => new Promise<never>(() => undefined) },
    });
    expect((await m.assess()).systems.knowledge).toBe(false);
  });

  it('reports every assessment, changed or not (the status board stays fresh)', async () => {
    const assessed: string[] = [];
    const { m } = manager({
      checks: { knowledge: down },
      onAssess: (status) => assessed.push(`${status.level}:${status.reasons.join(',')}`),
    });
    await m.assess();
    await m.assess();
    expect(assessed).toEqual(['L2:knowledge retrieval is down', 'L2:knowledge retrieval is down']);
  });

  it('numbers the levels 0 to 5 for the metric', () => {
    expect(levelNumber('L0')).toBe(0);
    expect(levelNumber('L5')).toBe(5);
  });
});
