import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Running } from './start.js';

/**
 * Password sign-in costs a 32 MiB scrypt: attempts are limited per client
 * address (10, then one per 30 s) and per account (5, then one per minute),
 * behind a trusted proxy that names the client.
 */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform({ TRUST_PROXY: 'true' });
});
afterAll(() => platform?.close());

async function signIn(email: string, client: string) {
  const res = await fetch(`${platform.baseUrl}/v1/agent/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
    body: JSON.stringify({ tenantId: 'demo', email, password: 'a-wrong-password-guess' }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { code: string; retryAfterMs?: number },
  };
}

describe('agent password sign-in limits', () => {
  it('refuses a sixth attempt on one account, from any address, saying when to retry', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await signIn('agent@parley.demo', `203.0.113.${i}`));
    expect(results.slice(0, 5).map((r) => r.body.code)).toEqual(
      Array(5).fill('HITL_ERR_BAD_CREDENTIALS'),
    );
    const limited = results[5]!;
    expect([limited.status, limited.body.code]).toEqual([429, 'HITL_ERR_RATE_LIMITED']);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited.body.retryAfterMs).toBeGreaterThanOrEqual(1_000);
  });

  it('refuses an eleventh attempt from one address, whatever the accounts', async () => {
    const codes = [];
    for (let i = 0; i < 11; i++)
      codes.push((await signIn(`guess-${i}@parley.demo`, '198.51.100.9')).body.code);
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('HITL_ERR_BAD_CREDENTIALS'));
    expect(codes[10]).toBe('HITL_ERR_RATE_LIMITED');
    // Another address is not held back.
    expect((await signIn('other@parley.demo', '198.51.100.10')).body.code).toBe(
      'HITL_ERR_BAD_CREDENTIALS',
    );
  });
});
