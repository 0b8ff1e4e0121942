import { describe, expect, it } from 'vitest';
import { shutdown } from '../src/index.js';
import { build } from './build.js';

describe('shutdown', () => {
  it('drains an in-flight request, refuses new work and reports draining', async () => {
    const { app } = build();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.get('/slow', async () => {
      await gate;
      return { done: true };
    });
    const closed: string[] = [];
    app.addHook('onClose', async () => {
      closed.push('pool');
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });

    const inflight = fetch(`${address}/slow`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
    await new Promise((r) => setTimeout(r, 50));
    const closing = shutdown(app, 5_000);
    expect(app.readiness.draining).toBe(true);
    expect((await app.readiness.report()).status).toBe('draining');
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${address}/healthz`)).rejects.toThrow();
    expect(closed).toEqual([]);

    release();
    expect(await inflight).toEqual({ status: 200, body: { done: true } });
    expect(await closing).toBe('clean');
    expect(closed).toEqual(['pool']);
  });

  it('gives up at the deadline when something never drains', async () => {
    const { app } = build();
    app.addHook('onClose', () => new Promise<void>(() => {}));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const started = Date.now();
    expect(await shutdown(app, 300)).toBe('deadline');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
