/**
 * The `tenant …` commands. Each checks its input, calls the API, and returns
 * what to print rather than printing it, so tests call them without a process.
 */
import type { TenantAdminClient, TenantFields, TenantView } from './client.js';
import { UsageError, jsonObject, origin, tenantId, widgetKey } from './validate.js';

/** What a command prints: `stdout` is for scripts (a tag, a secret, JSON), `stderr` for people. */
export interface Output {
  stdout?: string;
  stderr?: string;
}

/** The command-specific options, as `parseArgs` returns them. */
export interface TenantOptions {
  origin?: string[];
  name?: string;
  'emergency-contact'?: string;
  'no-emergency-contact'?: boolean;
  'ai-settings'?: string;
  'hitl-settings'?: string;
}

export interface CommandInput {
  /** The positionals after the command's name (`ID`, `KEY`). */
  args: string[];
  options: TenantOptions;
  /** Where visitors' pages load `/widget.js` from, without a trailing slash. */
  publicUrl: string;
  /** Print the API's JSON instead of the human text. */
  json: boolean;
}

export type Command = (client: TenantAdminClient, input: CommandInput) => Promise<Output>;

export const createTenant: Command = async (client, { args, options, publicUrl, json }) => {
  const id = tenantId(args[0]);
  const fields = tenantFields(options);
  if (!fields.allowedOrigins)
    throw new UsageError('tenant create needs at least one --origin (the sites that may embed it)');
  const put = await client.putTenant(id, fields, { createOnly: true });
  // A gateway that ignored If-None-Match has just overwritten a tenant: say so loudly.
  if (!put.created || !put.widgetKey)
    throw new Error(`tenant ${id} already existed and the gateway updated it`);
  return {
    stdout: json ? pretty(put.body) : scriptTag(publicUrl, put.widgetKey),
    stderr: `Created tenant ${id}; pages on ${fields.allowedOrigins.join(', ')} may embed it.`,
  };
};

export const updateTenant: Command = async (client, { args, options, json }) => {
  const id = tenantId(args[0]);
  const fields = tenantFields(options);
  if (Object.keys(fields).length === 0) throw new UsageError('tenant update: nothing to change');
  // PUT creates a missing tenant; asking first keeps a typo'd id from becoming a new
  // tenant (GW_ERR_UNKNOWN_TENANT instead).
  await client.getTenant(id);
  const put = await client.putTenant(id, fields, { createOnly: false });
  return {
    stdout: json ? pretty(put.body) : summary(put.tenant),
    stderr: put.created
      ? `Tenant ${id} was deleted meanwhile and has been created again.`
      : `Updated tenant ${id}.`,
  };
};

export const showTenant: Command = async (client, { args, json }) => {
  const { tenant, body } = await client.getTenant(tenantId(args[0]));
  return { stdout: json ? pretty(body) : summary(tenant) };
};

export const deleteTenant: Command = async (client, { args }) => {
  const id = tenantId(args[0]);
  await client.deleteTenant(id);
  return { stderr: `Deleted tenant ${id}: its widget keys are revoked; pages embedding it stop.` };
};

export const issueKey: Command = async (client, { args, publicUrl, json }) => {
  const id = tenantId(args[0]);
  const { widgetKey: issued, body } = await client.issueWidgetKey(id);
  return {
    stdout: json ? pretty(body) : scriptTag(publicUrl, issued.key),
    stderr: `Issued a new widget key for ${id}. The old keys stay valid until revoked (parley-admin tenant key revoke ${id} KEY).`,
  };
};

export const revokeKey: Command = async (client, { args }) => {
  const id = tenantId(args[0]);
  const key = widgetKey(args[1]);
  await client.revokeWidgetKey(id, key);
  return {
    stderr: `Revoked ${key} of tenant ${id}: pages still using it stop loading the widget shortly.`,
  };
};

export const rotateIdentitySecret: Command = async (client, { args, json }) => {
  const id = tenantId(args[0]);
  const { identitySecret, body } = await client.rotateIdentitySecret(id);
  return {
    stdout: json ? pretty(body) : identitySecret,
    stderr: `This identity secret of tenant ${id} is shown once and replaces any previous one: store it now.`,
  };
};

export const removeIdentitySecret: Command = async (client, { args }) => {
  const id = tenantId(args[0]);
  await client.removeIdentitySecret(id);
  return { stderr: `Removed the identity secret of tenant ${id}.` };
};

/** The tag a tenant pastes into its pages. */
export const scriptTag = (publicUrl: string, key: string) =>
  `<script src="${attr(publicUrl)}/widget.js" data-widget-key="${attr(key)}" async></script>`;

/** The PUT body from the options given; absent options stay absent (kept on update). */
function tenantFields(options: TenantOptions): TenantFields {
  const fields: TenantFields = {};
  if (options.origin) fields.allowedOrigins = [...new Set(options.origin.map(origin))];
  if (options.name !== undefined) {
    if (!options.name.trim()) throw new UsageError('--name must not be empty');
    fields.name = options.name;
  }
  const contact = options['emergency-contact'];
  if (contact !== undefined && options['no-emergency-contact'])
    throw new UsageError('--emergency-contact and --no-emergency-contact contradict each other');
  if (contact !== undefined) {
    if (!contact.trim())
      throw new UsageError(
        '--emergency-contact must not be empty (--no-emergency-contact clears it)',
      );
    fields.emergencyContact = contact;
  }
  if (options['no-emergency-contact']) fields.emergencyContact = null;
  if (options['ai-settings'] !== undefined)
    fields.aiSettings = jsonObject('--ai-settings', options['ai-settings']);
  if (options['hitl-settings'] !== undefined)
    fields.hitlSettings = jsonObject('--hitl-settings', options['hitl-settings']);
  return fields;
}

function summary(t: TenantView): string {
  const keys = t.widgetKeys ?? [];
  const origins = t.allowedOrigins ?? [];
  const rows: Array<[string, string[]]> = [
    ['tenant', [t.id]],
    ['name', [t.name || '(none)']],
    ['origins', origins.length ? origins : ['(none: no page may embed it)']],
    [
      'widget keys',
      keys.length
        ? keys.map((k) => `${k.key}  created ${k.createdAt}`)
        : ['(none: the widget does not load)'],
    ],
    ['emergency contact', [t.emergencyContact ?? '(none)']],
    ['identity secret', [t.identitySecret ? 'set' : 'not set']],
    ['ai settings', [JSON.stringify(t.aiSettings ?? {})]],
    ['hitl settings', [JSON.stringify(t.hitlSettings ?? {})]],
    ['created', [t.createdAt]],
  ];
  return rows
    .flatMap(([label, lines]) => lines.map((line, i) => `${(i ? '' : label).padEnd(19)}${line}`))
    .join('\n');
}

const pretty = (body: unknown) => JSON.stringify(body, null, 2);

/** The key comes from the server: escape it so an odd one cannot break the tag. */
const attr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
