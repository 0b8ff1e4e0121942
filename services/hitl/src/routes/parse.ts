import { parseInput, type SafeParser } from '@parley/service-kit';
import type { HitlErrorCode } from '../errors.js';

/** The value if it fits the schema; otherwise a 400 HITL_ERR_INVALID naming each problem. */
export function parse<T>(schema: SafeParser<T>, value: unknown): T {
  return parseInput(schema, value, 'HITL_ERR_INVALID' satisfies HitlErrorCode);
}
