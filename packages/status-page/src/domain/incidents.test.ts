import { describe, expect, it } from 'vitest';
import {
  Incidents,
  isIncidentError,
  type Incident,
  type IncidentChange,
  type IncidentStore,
} from './incidents.js';

/** The store's contract in memory: a change that throws stores nothing. */
class MemoryIncidentStore implements IncidentStore {
  readonly rows = new Map<string, Incident>();
  async insert(incident: Incident): Promise<void> {
    this.rows.set(incident.id, structuredClone(incident));
  }
  async change(
    id: string,
    change: (current: Incident) => IncidentChange,
  ): Promise<Incident | null> {
    const current = this.rows.get(id);
    if (!current) return null;
    const next = change(structuredClone(current));
    const updated: Incident = {
      ...current,
      status: next.status,
      updatedAt: next.updatedAt,
      resolvedAt: next.resolvedAt,
      updates: [...current.updates, { seq: current.updates.length + 1, ...next.update }],
    };
    this.rows.set(id, updated);
    return structuredClone(updated);
  }
}

function setup() {
  let now = Date.parse('2026-11-26T09:00:00Z');
  let n = 0;
  const store = new MemoryIncidentStore();
  const incidents = new Incidents(store, {
    newId: () => `inc-${++n}`,
    now: () => (now += 60_000),
  });
  return { store, incidents };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  return isIncidentError(err) ? err.code : String(err);
}

describe('Incidents', () => {
  it('opens with the investigating text, updates with the update text and resolves with the resolved text', async () => {
    const { incidents, store } = setup();
    const opened = await incidents.open({
      title: 'Slow answers',
      components: ['ai', 'ai'],
      template: 'investigating',
      params: {},
    });
    expect(opened).toMatchObject({ id: 'inc-1', status: 'investigating', components: ['ai'] });
    expect(opened.updates[0]!.text).toMatch(
      /^\[OUTAGE\] Parley chat: Slow answers\n\nWe are experiencing a disruption/,
    );
    const updated = await incidents.update('inc-1', {
      template: 'update',
      params: { eta: '30 minutes' },
      status: 'monitoring',
    });
    expect(updated.status).toBe('monitoring');
    expect(updated.updates[1]).toMatchObject({ seq: 2, template: 'update', status: 'monitoring' });
    expect(updated.updates[1]!.text).toContain('We expect full service within 30 minutes.');
    const resolved = await incidents.resolve('inc-1', {
      template: 'resolved',
      params: { cause: 'a full disk', resolution: 'adding space' },
    });
    expect(resolved).toMatchObject({ status: 'resolved', resolvedAt: resolved.updatedAt });
    expect(resolved.updates.map((u) => u.status)).toEqual([
      'investigating',
      'monitoring',
      'resolved',
    ]);
    expect(resolved.updates[2]!.text).toContain(
      'It was caused by a full disk and resolved by adding space.',
    );
    expect(store.rows.get('inc-1')!.updates).toHaveLength(3);
  });

  it('refuses a template that is not the one the action takes, or its parameters are wrong', async () => {
    const { incidents, store } = setup();
    expect(
      await codeOf(
        incidents.open({ title: 't', components: [], template: 'resolved', params: {} }),
      ),
    ).toBe('GW_ERR_INCIDENT_TEMPLATE');
    expect(
      await codeOf(incidents.open({ title: 't', components: [], template: 'apology', params: {} })),
    ).toBe('GW_ERR_INCIDENT_TEMPLATE');
    expect(store.rows.size).toBe(0);
    await incidents.open({ title: 't', components: [], template: 'investigating', params: {} });
    expect(await codeOf(incidents.update('inc-1', { template: 'update', params: {} }))).toBe(
      'GW_ERR_INCIDENT_TEMPLATE',
    );
    expect(
      await codeOf(
        incidents.update('inc-1', { template: 'update', params: { eta: '1 h', cause: 'x' } }),
      ),
    ).toBe('GW_ERR_INCIDENT_TEMPLATE');
    expect(
      await codeOf(incidents.resolve('inc-1', { template: 'update', params: { eta: '1 h' } })),
    ).toBe('GW_ERR_INCIDENT_TEMPLATE');
    // Nothing refused was stored.
    expect(store.rows.get('inc-1')!.updates).toHaveLength(1);
  });

  it('answers an unknown id with not found', async () => {
    const { incidents } = setup();
    expect(
      await codeOf(incidents.update('nope', { template: 'update', params: { eta: '1 h' } })),
    ).toBe('GW_ERR_INCIDENT_NOT_FOUND');
    expect(
      await codeOf(
        incidents.resolve('nope', {
          template: 'resolved',
          params: { cause: 'a', resolution: 'b' },
        }),
      ),
    ).toBe('GW_ERR_INCIDENT_NOT_FOUND');
  });

  it('resolves once: resolving or updating a resolved incident is refused', async () => {
    const { incidents, store } = setup();
    await incidents.open({ title: 't', components: [], template: 'investigating', params: {} });
    const resolve = () =>
      incidents.resolve('inc-1', { template: 'resolved', params: { cause: 'a', resolution: 'b' } });
    await resolve();
    expect(await codeOf(resolve())).toBe('GW_ERR_INCIDENT_RESOLVED');
    expect(
      await codeOf(incidents.update('inc-1', { template: 'update', params: { eta: '1 h' } })),
    ).toBe('GW_ERR_INCIDENT_RESOLVED');
    expect(store.rows.get('inc-1')!.updates).toHaveLength(2);
  });
});
