import { describe, expect, it } from 'vitest';
import {
  HASHES_AT_ONCE,
  HASHES_WAITING,
  hashPassword,
  isHashingBusy,
  verifyPassword,
} from './passwords.js';

describe('password hashing', () => {
  it('verifies the password it hashed and no other', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
  });

  it('runs a bounded number of hashes at once and refuses those past the waiting room', async () => {
    const stored = await hashPassword('p');
    const extra = 6;
    const outcomes = await Promise.allSettled(
      Array.from({ length: HASHES_AT_ONCE + HASHES_WAITING + extra }, () =>
        verifyPassword('p', stored),
      ),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused).toHaveLength(extra);
    for (const r of refused) expect(isHashingBusy((r as PromiseRejectedResult).reason)).toBe(true);
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === true)).toHaveLength(
      HASHES_AT_ONCE + HASHES_WAITING,
    );
  }, 60_000);
});
