import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { PgDatabase } from '@parley/postgres';
import { pgQuery, startPgCluster, type PgCluster } from '@parley/testing';

/**
 * The setup job (`node dist/migrate.js`) with its own credential: the schema
 * is migrated by its owner (PARLEY_PG_MIGRATE_URL), and the services' role
 * (PARLEY_PG_PRIMARY_URL) may read and write data but not change the schema.
 */
const exec = promisify(execFile);
const script = new URL('../dist/migrate.js', import.meta.url).pathname;
let cluster: PgCluster;
let servicesUrl: string;

beforeAll(async () => {
  cluster = await startPgCluster();
  await pgQuery(cluster.primary.url, `create role parley_app login`);
  servicesUrl = cluster.primary.url.replace('postgres://postgres@', 'postgres://parley_app@');
}, 120_000);
afterAll(() => cluster?.destroy());

describe('the setup job with a migration role', () => {
  it('migrates as the owner and leaves the services’ role the rights on data only', async () => {
    const { stdout } = await exec(process.execPath, [script], {
      env: {
        PATH: process.env.PATH ?? '',
        PARLEY_PG_MIGRATE_URL: cluster.primary.url,
        PARLEY_PG_PRIMARY_URL: servicesUrl,
      },
      timeout: 60_000,
    });
    expect(stdout).toContain('Applied migrations');
    expect(stdout).toContain('Role parley_app may read and write the data');

    const db = new PgDatabase({ primaryUrl: servicesUrl });
    try {
      await new ConversationStore(db).upsertTenant({
        id: 'granted',
        name: 'Granted',
        widgetKey: 'pk_granted',
        allowedOrigins: ['https://granted.example'],
      });
      expect((await db.read('select id from tenants', [], 'primary')).length).toBe(1);
      await expect(db.read('create table intruder (i int)', [], 'primary')).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        db.read('alter table tenants add column intruder int', [], 'primary'),
      ).rejects.toThrow(/must be owner/);
    } finally {
      await db.close();
    }
  }, 90_000);
});
