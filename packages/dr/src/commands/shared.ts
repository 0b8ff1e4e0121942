import pg from 'pg';

/** A tenant id as the services accept it. */
export const TENANT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Runs `fn` with a connection to PARLEY_PG_PRIMARY_URL, closed afterwards. */
export async function onPrimary<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: need('PARLEY_PG_PRIMARY_URL') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function need(name: string): string {
  const value = process.env[name];
  if (!value) throw Object.assign(new Error(`${name} is not set`), { code: 'DR_ERR_USAGE' });
  return value;
}

/** A usage error: the command prints its usage and exits 2. */
export const usage = (message: string) =>
  Object.assign(new Error(message), { code: 'DR_ERR_USAGE' });

/** A flag's positive integer value, or `fallback` when absent. */
export const positive = (value: string | undefined, name: string, fallback: number): number => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`${name} must be a positive integer`);
  return n;
};
