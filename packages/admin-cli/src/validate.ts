/**
 * Input checks that run before any request, so a typo costs an exit 2 here
 * and never a half-applied change on the gateway.
 */

/** Bad usage: the CLI prints the reason and its usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** 1 to 128 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function tenantId(value: string | undefined): string {
  if (value === undefined || !TENANT_ID.test(value))
    throw new UsageError(
      `bad tenant id ${JSON.stringify(value ?? '')}: 1 to 128 letters, digits, '.', '_', '-', starting with a letter or digit`,
    );
  return value;
}

/** Widget keys are `pk_…`; the prefix check catches a tenant id or secret pasted by mistake. */
export function widgetKey(value: string | undefined): string {
  if (value === undefined || !/^pk_[A-Za-z0-9._-]{1,157}$/.test(value))
    throw new UsageError(
      `bad widget key ${JSON.stringify(value ?? '')}: pk_ then letters, digits, '.', '_', '-'`,
    );
  return value;
}

/**
 * An origin exactly as browsers send it (`https://shop.example`, one trailing
 * slash tolerated): the gateway compares origins as strings, so
 * `https://Shop.example/path` would never match and is refused here.
 */
export function origin(value: string): string {
  const trimmed = value.endsWith('/') ? value.slice(0, -1) : value;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new UsageError(`bad origin ${JSON.stringify(value)}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`bad origin ${JSON.stringify(value)}: must be http or https`);
  if (url.origin !== trimmed)
    throw new UsageError(
      `bad origin ${JSON.stringify(value)}: must be exactly scheme://host[:port], e.g. ${url.origin}`,
    );
  return trimmed;
}

/** A gateway address (`--url`, `--public-url`), returned without trailing slashes. */
export function baseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} ${JSON.stringify(value)} is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash)
    throw new UsageError(
      `${name} ${JSON.stringify(value)} must be an http(s) URL without ?query or #hash`,
    );
  return value.replace(/\/+$/, '');
}

/** A JSON option (`--ai-settings`, `--hitl-settings`): must be an object. */
export function jsonObject(name: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`${name} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${name} must be a JSON object, e.g. '{"key": "value"}'`);
  return parsed as Record<string, unknown>;
}
