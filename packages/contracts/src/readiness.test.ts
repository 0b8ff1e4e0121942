import { describe, expect, it } from 'vitest';
import { readinessServes } from './readiness.js';

const answer = (status: number, body: unknown) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });

describe('readinessServes', () => {
  it('counts a ready service without an essential dependency down as serving', async () => {
    expect(await readinessServes(answer(200, { status: 'ready', state: 'healthy' }))).toBe(true);
    expect(await readinessServes(answer(200, { status: 'ready', state: 'degraded' }))).toBe(true);
    expect(await readinessServes(answer(200, 'ok'))).toBe(true);
  });

  it('counts a ready pod whose shared Postgres or Kafka is down as not serving', async () => {
    expect(await readinessServes(answer(200, { status: 'ready', state: 'critical' }))).toBe(false);
  });

  it('counts any failed answer as not serving', async () => {
    expect(await readinessServes(answer(503, { status: 'not_ready', state: 'healthy' }))).toBe(
      false,
    );
    expect(await readinessServes(answer(503, { status: 'draining' }))).toBe(false);
    expect(await readinessServes(answer(500, '\u0000'))).toBe(false);
  });
});
