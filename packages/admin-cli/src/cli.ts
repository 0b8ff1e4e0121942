#!/usr/bin/env node
/**
 * `parley-admin`: the operators' CLI for the gateway's tenant admin API
 * (`/admin/tenants/*`, bearer PARLEY_ADMIN_TOKEN). `USAGE` below is its manual.
 *
 * This file parses the arguments, picks the command, and turns errors into
 * exit codes (2 bad usage, before any request; 1 the gateway refused or is
 * unreachable). The commands are in `tenant.ts`, the HTTP in `client.ts`.
 * `main()` is exported so tests run the CLI in-process.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdminApiError, AdminUnreachableError, TenantAdminClient } from './client.js';
import {
  type Command,
  type TenantOptions,
  createTenant,
  deleteTenant,
  issueKey,
  removeIdentitySecret,
  revokeKey,
  rotateIdentitySecret,
  showTenant,
  updateTenant,
} from './tenant.js';
import { UsageError, baseUrl } from './validate.js';

export const USAGE = `parley-admin: the operators' CLI for the gateway's tenant admin API.

Usage:
  parley-admin tenant create ID --origin URL [--origin URL ...] [--name NAME]
               [--emergency-contact TEXT] [--ai-settings JSON] [--hitl-settings JSON]
  parley-admin tenant update ID [--origin URL ...] [--name NAME]
               [--emergency-contact TEXT | --no-emergency-contact]
               [--ai-settings JSON] [--hitl-settings JSON]
  parley-admin tenant show ID
  parley-admin tenant delete ID
  parley-admin tenant key issue ID
  parley-admin tenant key revoke ID KEY
  parley-admin tenant identity-secret rotate ID
  parley-admin tenant identity-secret remove ID

create refuses an existing ID and prints the <script> tag to paste into the
tenant's pages; key issue prints one with a new key (the old keys stay valid
until revoked). update changes only the options given; --origin replaces the
whole list. delete revokes every widget key: the tenant stops serving.
identity-secret rotate prints the new secret, shown only this once.

ID        1 to 128 letters, digits, '.', '_', '-', starting with a letter or digit
--origin  exactly scheme://host[:port], as browsers send it: https://shop.example
JSON      a JSON object, e.g. --hitl-settings '{"assignment":"least_busy"}'

Options:
  --url URL          the gateway (default: PARLEY_ADMIN_URL, else http://localhost:8080)
  --public-url URL   where visitors' pages load /widget.js from (default: --url)
  --token-file PATH  read the admin token from PATH (default: PARLEY_ADMIN_TOKEN).
                     There is no --token: a token on the command line shows in ps.
  --json             print the API's JSON instead of text
  -h, --help         print this help

Exits 0 on success, 1 when the gateway refused (CODE: message on stderr) or
could not be reached, 2 on bad usage (nothing is sent then).
`;

const FIELDS = ['origin', 'name', 'emergency-contact', 'ai-settings', 'hitl-settings'] as const;

/** Each command: its positionals, the options it takes, and its handler. */
const COMMANDS: Record<string, { args: string; options: readonly string[]; run: Command }> = {
  'tenant create': { args: 'ID', options: FIELDS, run: createTenant },
  'tenant update': { args: 'ID', options: [...FIELDS, 'no-emergency-contact'], run: updateTenant },
  'tenant show': { args: 'ID', options: [], run: showTenant },
  'tenant delete': { args: 'ID', options: [], run: deleteTenant },
  'tenant key issue': { args: 'ID', options: [], run: issueKey },
  'tenant key revoke': { args: 'ID KEY', options: [], run: revokeKey },
  'tenant identity-secret rotate': { args: 'ID', options: [], run: rotateIdentitySecret },
  'tenant identity-secret remove': { args: 'ID', options: [], run: removeIdentitySecret },
};

const OPTIONS = {
  url: { type: 'string' },
  'public-url': { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  origin: { type: 'string', multiple: true },
  name: { type: 'string' },
  'emergency-contact': { type: 'string' },
  // Spelled out: parseArgs's allowNegative needs Node 22.
  'no-emergency-contact': { type: 'boolean' },
  'ai-settings': { type: 'string' },
  'hitl-settings': { type: 'string' },
} as const;

const DEFAULT_URL = 'http://localhost:8080';

export interface Io {
  env: Record<string, string | undefined>;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`parley-admin: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof AdminApiError) io.stderr.write(`${err.code}: ${err.message}${hint(err)}\n`);
    else if (err instanceof AdminUnreachableError)
      io.stderr.write(`parley-admin: ${err.message}\n`);
    else io.stderr.write(`parley-admin: ${(err as Error).message}\n`);
    return 1;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const name = Object.keys(COMMANDS).find((n) =>
    n.split(' ').every((word, i) => positionals[i] === word),
  );
  if (!name) throw new UsageError(`unknown command: ${positionals.join(' ') || '(none)'}`);
  const command = COMMANDS[name]!;
  const args = positionals.slice(name.split(' ').length);
  if (args.length !== command.args.split(' ').length)
    throw new UsageError(`${name} takes ${command.args}`);
  for (const option of [...FIELDS, 'no-emergency-contact'] as const)
    if (values[option] !== undefined && !command.options.includes(option))
      throw new UsageError(`--${option} is not an option of ${name}`);

  const fromEnv = io.env.PARLEY_ADMIN_URL;
  const url = values.url
    ? baseUrl('--url', values.url)
    : baseUrl('PARLEY_ADMIN_URL', fromEnv || DEFAULT_URL);
  const publicUrl = values['public-url'] ? baseUrl('--public-url', values['public-url']) : url;
  const client = new TenantAdminClient({
    baseUrl: url,
    token: token(values['token-file'], io.env),
  });

  const output = await command.run(client, {
    args,
    options: values as TenantOptions,
    publicUrl,
    json: values.json ?? false,
  });
  if (output.stdout !== undefined) io.stdout.write(`${output.stdout}\n`);
  if (output.stderr !== undefined) io.stderr.write(`${output.stderr}\n`);
  return 0;
}

function parse(argv: string[]) {
  const end = argv.indexOf('--');
  if (
    (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--token' || a.startsWith('--token='))
  )
    throw new UsageError(
      'there is no --token: a token on the command line shows in ps; set PARLEY_ADMIN_TOKEN or use --token-file PATH',
    );
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The bearer token: `--token-file` when given, else PARLEY_ADMIN_TOKEN. */
function token(file: string | undefined, env: Io['env']): string {
  let value = env.PARLEY_ADMIN_TOKEN;
  if (file !== undefined) {
    try {
      value = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read --token-file ${file}: ${(err as { code?: string }).code ?? err}`,
      );
    }
  }
  // Files usually end with a newline; anything else odd would be refused by fetch as a header.
  value = value?.trim();
  if (!value)
    throw new UsageError(
      file === undefined
        ? 'no token: set PARLEY_ADMIN_TOKEN or use --token-file PATH'
        : `--token-file ${file} is empty`,
    );
  if (/[^\x21-\x7e]/.test(value))
    throw new UsageError('the token has spaces or control characters');
  return value;
}

/** What the few puzzling codes usually mean, for the operator reading them at 3 a.m. */
function hint(err: AdminApiError): string {
  if (err.code === 'GW_ERR_NOT_FOUND')
    return " (is the gateway's admin API on, and is --url the gateway?)";
  if (err.code === 'GW_ERR_UNAUTHORIZED') return ' (check PARLEY_ADMIN_TOKEN or --token-file)';
  if (err.code === 'GW_ERR_LAST_WIDGET_KEY')
    return ' (issue a new key first, or delete the tenant to stop it serving)';
  return '';
}

// Only as the program, not when a test imports main(). realpath: the bin shims
// and global installs reach this file through symlinks.
const entry = process.argv[1];
if (entry && realpath(entry) === fileURLToPath(import.meta.url))
  process.exitCode = await main(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
  });

function realpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
