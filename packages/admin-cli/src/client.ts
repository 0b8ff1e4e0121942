/**
 * A typed client for the gateway's tenant admin API (`/admin/tenants/*`).
 * It only speaks HTTP: checking ids and origins is the caller's job.
 */

/** A tenant as the admin API shows it. */
export interface TenantView {
  id: string;
  name: string;
  allowedOrigins: string[];
  emergencyContact: string | null;
  aiSettings: Record<string, unknown>;
  hitlSettings: Record<string, unknown>;
  widgetKeys: WidgetKey[];
  /** Whether one is set: the secret itself is only ever shown when rotated. */
  identitySecret: boolean;
  createdAt: string;
}

export interface WidgetKey {
  key: string;
  createdAt: string;
}

/** The body of `PUT /admin/tenants/:id`: absent fields keep their values on update. */
export interface TenantFields {
  name?: string;
  allowedOrigins?: string[];
  emergencyContact?: string | null;
  aiSettings?: Record<string, unknown>;
  hitlSettings?: Record<string, unknown>;
}

/** The gateway answered with an error (`code` is its `GW_ERR_…`, or `HTTP_<status>`). */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/** No answer at all: the gateway is down, the URL is wrong, or it timed out. */
export class AdminUnreachableError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = 'AdminUnreachableError';
  }
}

export interface TenantAdminClientOptions {
  /** The gateway, e.g. `http://localhost:8080` (a path prefix is kept). */
  baseUrl: string;
  token: string;
  /** @default 30000 */
  timeoutMs?: number;
}

export class TenantAdminClient {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: TenantAdminClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Creates the tenant, or with `createOnly: false` updates it. `createOnly`
   * sends `If-None-Match: *`, so a typo'd id can never overwrite another tenant.
   */
  async putTenant(
    id: string,
    fields: TenantFields,
    { createOnly }: { createOnly: boolean },
  ): Promise<{ created: boolean; tenant: TenantView; widgetKey?: string; body: unknown }> {
    const { status, body } = await this.#call('PUT', tenantPath(id), fields, {
      ...(createOnly ? { 'if-none-match': '*' } : {}),
    });
    const tenant = field(body, 'tenant', 'object') as TenantView;
    if (status !== 201) return { created: false, tenant, body };
    return { created: true, tenant, widgetKey: field(body, 'widgetKey', 'string') as string, body };
  }

  async getTenant(id: string): Promise<{ tenant: TenantView; body: unknown }> {
    const { body } = await this.#call('GET', tenantPath(id));
    return { tenant: field(body, 'tenant', 'object') as TenantView, body };
  }

  async deleteTenant(id: string): Promise<void> {
    await this.#call('DELETE', tenantPath(id));
  }

  async issueWidgetKey(id: string): Promise<{ widgetKey: WidgetKey; body: unknown }> {
    const { body } = await this.#call('POST', `${tenantPath(id)}/widget-keys`, {});
    const widgetKey = field(body, 'widgetKey', 'object') as WidgetKey;
    field(widgetKey, 'key', 'string');
    return { widgetKey, body };
  }

  async revokeWidgetKey(id: string, key: string): Promise<void> {
    await this.#call('DELETE', `${tenantPath(id)}/widget-keys/${encodeURIComponent(key)}`);
  }

  async rotateIdentitySecret(id: string): Promise<{ identitySecret: string; body: unknown }> {
    const { body } = await this.#call('POST', `${tenantPath(id)}/identity-secret`, {});
    return { identitySecret: field(body, 'identitySecret', 'string') as string, body };
  }

  async removeIdentitySecret(id: string): Promise<void> {
    await this.#call('DELETE', `${tenantPath(id)}/identity-secret`);
  }

  async #call(
    method: string,
    path: string,
    json?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown }> {
    const url = `${this.#base}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: json === undefined ? undefined : JSON.stringify(json),
        // A redirect would be a misconfigured URL: following it could carry the
        // token to another host or turn a PUT into a GET.
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new AdminUnreachableError(url, reason(err, this.#timeoutMs));
    }
    const body = parse(text);
    if (!res.ok) {
      const error = body as { code?: unknown; message?: unknown } | undefined;
      // A proxy in front of the gateway may answer HTML: keep its status at least.
      if (typeof error?.code !== 'string')
        throw new AdminApiError(
          res.status,
          `HTTP_${res.status}`,
          `${method} ${url}: ${oneLine(text) || res.statusText}`,
        );
      throw new AdminApiError(res.status, error.code, String(error.message ?? ''));
    }
    if (res.status !== 204 && body === undefined)
      throw new AdminApiError(res.status, 'BAD_RESPONSE', `${method} ${url}: answer is not JSON`);
    return { status: res.status, body };
  }
}

const tenantPath = (id: string) => `/admin/tenants/${encodeURIComponent(id)}`;

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks one field of an answer, so a wrong server fails here and not as `undefined` printed. */
function field(body: unknown, name: string, type: 'string' | 'object'): unknown {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  if (typeof value !== type || value === null)
    throw new AdminApiError(0, 'BAD_RESPONSE', `the answer has no ${name} (${type})`);
  return value;
}

function reason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, ...).
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 200);
