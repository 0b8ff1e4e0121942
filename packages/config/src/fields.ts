import { z } from 'zod';
import { KEY_ID, parseSigningKeys, type SigningKey } from './signing-keys.js';

/** How one environment variable is read. Build these with the `env` helpers. */
export interface Field<T> {
  readonly variable: string;
  /** Human description of a valid value, used in error messages. */
  readonly expected: string;
  readonly schema: z.ZodType<T>;
  readonly defaultValue?: T;
  /** Never echo the value in an error (passwords, keys, URLs with credentials). */
  readonly secret: boolean;
}

/** Options every field takes. */
export interface FieldOptions<T> {
  /** Value used when the variable is unset or empty. Without it the variable is required. */
  default?: T;
  /** Keep the value out of error messages. @default false */
  secret?: boolean;
}

function field<T>(
  variable: string,
  expected: string,
  schema: z.ZodType<T>,
  options: FieldOptions<T>,
): Field<T> {
  return {
    variable,
    expected,
    schema,
    defaultValue: options.default,
    secret: options.secret ?? false,
  };
}

const INT = /^-?\d+$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HOST_PORT = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

/** The words of example values (`replace-me`, `changeme`, `<your-key>`, `xxxx`...). */
const PLACEHOLDER =
  /replace|change[-_ ]?me|changeit|placeholder|example|your[-_ ]|<[^>]*>|xxxx|todo|fixme/i;

/**
 * Whether a generated secret looks random enough: at least 10 distinct
 * characters and 96 bits by its characters' frequencies. Catches `aaaa...`,
 * `abcdabcd...` and `password-password-...`, not every weak value.
 */
function looksRandom(value: string): boolean {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= n * Math.log2(n / value.length);
  return counts.size >= 10 && bits >= 96;
}

/** The items of a comma-separated value, trimmed, empty ones dropped. */
const commaSeparated = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Environment-variable field builders. */
export const env = {
  /** Any non-empty string. */
  string(variable: string, options: FieldOptions<string> = {}): Field<string> {
    return field(variable, 'a non-empty string', z.string().min(1), options);
  },

  /**
   * A secret (signing key, password, API key): at least `minLength` characters,
   * never echoed, never an example value. `generated` (a key operators make
   * themselves) also refuses one that does not look random. `optional` makes
   * it default to `''` (feature off).
   */
  secret(
    variable: string,
    options: { minLength?: number; optional?: boolean; generated?: boolean } = {},
  ): Field<string> {
    const minLength = options.minLength ?? 32;
    const schema = z
      .string()
      .min(minLength)
      .refine((v) => !PLACEHOLDER.test(v))
      .refine((v) => !options.generated || looksRandom(v));
    return field(
      variable,
      options.generated
        ? `a random secret of at least ${minLength} characters, not an example value (e.g. from \`openssl rand -base64 48\`)`
        : `a secret of at least ${minLength} characters, not an example value`,
      schema,
      { secret: true, ...(options.optional ? { default: '' } : {}) },
    );
  },

  /**
   * Signing keys shared by every region: one random secret, or a rotation
   * list separated by commas (the first signs, all verify), each `id:secret`
   * or a bare secret (its id derived from it; ids of letters, digits, `.`,
   * `_`, `-`). Each secret as {@link env.secret} with `generated`.
   */
  signingKeys(variable: string, options: { minLength?: number } = {}): Field<SigningKey[]> {
    const minLength = options.minLength ?? 32;
    const schema = z
      .string()
      .min(1)
      .transform(parseSigningKeys)
      .refine((keys) => keys.length >= 1 && keys.length <= 8)
      .refine((keys) => keys.every((k) => KEY_ID.test(k.id)))
      .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length)
      .refine((keys) =>
        keys.every(
          (k) =>
            k.secret.length >= minLength && !PLACEHOLDER.test(k.secret) && looksRandom(k.secret),
        ),
      );
    return field(
      variable,
      `a random secret of at least ${minLength} characters (e.g. from \`openssl rand -base64 48\`), or up to 8 keys (\`id:secret\` or a bare secret) separated by commas, the signing key first`,
      schema as z.ZodType<SigningKey[]>,
      { secret: true },
    );
  },

  /** An integer in `[min, max]`. */
  int(
    variable: string,
    {
      min = Number.MIN_SAFE_INTEGER,
      max = Number.MAX_SAFE_INTEGER,
      ...options
    }: FieldOptions<number> & {
      min?: number;
      max?: number;
    } = {},
  ): Field<number> {
    const schema = z.string().regex(INT).transform(Number).pipe(z.number().int().min(min).max(max));
    return field(
      variable,
      `an integer from ${min} to ${max}`,
      schema as z.ZodType<number>,
      options,
    );
  },

  /** A decimal number within [min, max] (such as a similarity threshold). */
  number(
    variable: string,
    { min, max, ...options }: FieldOptions<number> & { min: number; max: number },
  ): Field<number> {
    const schema = z
      .string()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number)
      .pipe(z.number().min(min).max(max));
    return field(variable, `a number from ${min} to ${max}`, schema as z.ZodType<number>, options);
  },

  /** A TCP port (0 lets the OS choose, for tests). */
  port(variable: string, options: FieldOptions<number> = {}): Field<number> {
    return env.int(variable, { min: 0, max: 65_535, ...options });
  },

  /** `true`/`false` (also `1`/`0`, `yes`/`no`). */
  bool(variable: string, options: FieldOptions<boolean> = {}): Field<boolean> {
    const schema = z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .transform((v) => v === 'true' || v === '1' || v === 'yes');
    return field(variable, 'true or false', schema as z.ZodType<boolean>, options);
  },

  /** One of a fixed set of strings. */
  oneOf<const V extends readonly [string, ...string[]]>(
    variable: string,
    values: V,
    options: FieldOptions<V[number]> = {},
  ): Field<V[number]> {
    return field(
      variable,
      `one of ${values.join(', ')}`,
      z.enum(values) as z.ZodType<V[number]>,
      options,
    );
  },

  /** A URL whose scheme is one of `protocols` (e.g. `['postgres:', 'postgresql:']`). */
  url(
    variable: string,
    { protocols, ...options }: FieldOptions<string> & { protocols: string[] },
  ): Field<string> {
    const schema = z
      .string()
      .refine((value) => URL.canParse(value) && protocols.includes(new URL(value).protocol));
    const schemes = protocols.map((p) => p.replace(/:$/, '://')).join(' or ');
    return field(variable, `a URL starting with ${schemes}`, schema, options);
  },

  /** A comma-separated list of `host:port` addresses. */
  hostPorts(variable: string, options: FieldOptions<string[]> = {}): Field<string[]> {
    const schema = commaSeparated.pipe(z.array(z.string().regex(HOST_PORT)).min(1));
    return field(
      variable,
      'a comma-separated list of host:port',
      schema as z.ZodType<string[]>,
      options,
    );
  },

  /**
   * A comma-separated list of 1 to `max` names: lower-case letters, digits
   * and `-`, starting with a letter, up to 32 characters (`gateway,chat,ai`).
   */
  names(
    variable: string,
    { max, ...options }: FieldOptions<string[]> & { max: number },
  ): Field<string[]> {
    const schema = commaSeparated.pipe(
      z
        .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
        .min(1)
        .max(max),
    );
    return field(
      variable,
      'a comma-separated list of names (lower-case letters, digits, -)',
      schema as z.ZodType<string[]>,
      options,
    );
  },

  /** A region's name: lower-case letters, digits and `-`, up to 63 characters (`eu-west`). */
  region(variable: string, options: FieldOptions<string> = {}): Field<string> {
    return field(
      variable,
      'a region name (lower-case letters, digits, -)',
      z.string().regex(REGION),
      options,
    );
  },

  /**
   * Each region's Kafka, `region=host:port,host:port` separated by `;`
   * (`us-east=kafka.us-east:9092;eu-west=kafka.eu-west:9092`); empty when
   * a default is given.
   */
  regionBrokers(
    variable: string,
    options: FieldOptions<Record<string, string[]>> = {},
  ): Field<Record<string, string[]>> {
    const schema = z.string().transform((v, ctx) => {
      const regions: Record<string, string[]> = {};
      for (const part of v
        .split(';')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const at = part.indexOf('=');
        const name = part.slice(0, at).trim();
        const brokers = part
          .slice(at + 1)
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean);
        if (
          at < 1 ||
          !REGION.test(name) ||
          name in regions ||
          brokers.length === 0 ||
          !brokers.every((b) => HOST_PORT.test(b))
        ) {
          ctx.addIssue({ code: 'custom', message: `bad region entry: ${part.slice(0, 80)}` });
          return z.NEVER;
        }
        regions[name] = brokers;
      }
      return regions;
    });
    return field(
      variable,
      'regions and their Kafka brokers: `region=host:port,host:port;region=host:port`',
      schema as unknown as z.ZodType<Record<string, string[]>>,
      options,
    );
  },

  /** A comma-separated list of URLs with one of `protocols`; may be empty when a default is given. */
  urlList(
    variable: string,
    { protocols, ...options }: FieldOptions<string[]> & { protocols: string[] },
  ): Field<string[]> {
    const schema = commaSeparated.pipe(
      z.array(z.string().refine((u) => URL.canParse(u) && protocols.includes(new URL(u).protocol))),
    );
    const schemes = protocols.map((p) => p.replace(/:$/, '://')).join(' or ');
    return field(
      variable,
      `a comma-separated list of URLs starting with ${schemes}`,
      schema as z.ZodType<string[]>,
      options,
    );
  },
};
