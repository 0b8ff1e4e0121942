import type { WritePosition } from './sql.js';

/** Orders two write positions (negative, zero, positive). */
export function comparePositions(a: WritePosition, b: WritePosition): number {
  const x = BigInt(`0x${a || '0'}`);
  const y = BigInt(`0x${b || '0'}`);
  return x < y ? -1 : x > y ? 1 : 0;
}
