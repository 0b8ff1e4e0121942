import { z } from 'zod';

/**
 * A tenant's id: letters, digits, `.`, `_` and `-`, starting with a letter or
 * digit, at most 128 characters. No `:`, the separator of Redis keys and
 * channels (the `tenants_id_format` constraint refuses it in Postgres too).
 */
export const tenantIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'a tenant id is 1 to 128 letters, digits, . _ or -, starting with a letter or digit',
  );

/** One variable part of a Redis key or channel, with `%` and `:` escaped. */
export function keyPart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/**
 * A Redis key or channel: `parley:<family>:<part>:<part>...`, each part escaped
 * ({@link keyPart}) so that no two lists of parts give the same key: tenant
 * `acme` with conversation `eu:1` and tenant `acme:eu` with conversation `1`
 * stay apart.
 */
export function cacheKey(family: string, ...parts: string[]): string {
  return ['parley', family, ...parts.map(keyPart)].join(':');
}
