import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BulkheadRejectedError, bulkhead } from 'cockatiel';

/** Hashes running at once in this process (32 MiB each), and how many may wait for a turn. */
export const HASHES_AT_ONCE = 2;
export const HASHES_WAITING = 32;
const hashing = bulkhead(HASHES_AT_ONCE, HASHES_WAITING);

/** True when a hash was refused because {@link HASHES_AT_ONCE} run and {@link HASHES_WAITING} wait. */
export const isHashingBusy = (err: unknown): boolean => err instanceof BulkheadRejectedError;

const scrypt = (password: string, salt: Buffer, length: number, options: ScryptOptions) =>
  hashing.execute(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scryptCb(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );

/** scrypt's cost: N = 2^15, r = 8 (32 MiB per hash: memory-hard), p = 1. */
const COST = { N: 32_768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

/** Hashes a password with scrypt and a random salt: `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...COST, maxmem: 64 * 1024 * 1024 });
  return [
    'scrypt',
    COST.N,
    COST.r,
    COST.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: compared against when the e-mail is unknown, so timing tells nothing. */
export const DUMMY_HASH = hashPassword(randomBytes(16).toString('hex'));
