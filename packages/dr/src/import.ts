import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TENANT_TABLES } from './export.js';
import type { Queryable } from './run.js';

/**
 * Password hash given to an agent brought back by an import: the export
 * never holds the real one, and no password matches this (the agent sets a
 * new one through the operators' API).
 */
export const RESTORED_AGENT_HASH = '!restored: set a new password';

/** What {@link importTenant} did, per table. */
export interface ImportResult {
  tenant: string;
  /** Rows read from the file, and rows added (those already there are left as they are). */
  read: Record<string, number>;
  added: Record<string, number>;
  /**
   * Knowledge documents set back to `pending`: their chunks need embedding
   * again (`POST /v1/knowledge/:tenant/documents/:id/reingest` on the embedding service).
   */
  reindex: string[];
  /** Agents added with no usable password. */
  agentsWithoutPassword: number;
}

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

/**
 * Puts back one tenant's rows from a `parley-dr export` file (a partial
 * restore: export the tenant from a restored copy, import it here). Rows
 * already present are never overwritten; only what is missing is added, in
 * one transaction. Every row must belong to `tenantId`, or nothing is
 * written. Knowledge chunks are not imported (the export has no embeddings):
 * their documents go back to `pending` to be embedded again.
 */
export async function importTenant(
  db: Queryable,
  tenantId: string,
  file: string,
): Promise<ImportResult> {
  const byTable = new Map<string, Array<Record<string, unknown>>>();
  const known = new Set(TENANT_TABLES.map((t) => t.table));
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let entry: { table?: unknown; row?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      throw coded('DR_ERR_IMPORT', `line ${n} is not JSON`);
    }
    const { table, row } = entry;
    if (typeof table !== 'string' || !known.has(table) || !row || typeof row !== 'object')
      throw coded('DR_ERR_IMPORT', `line ${n}: not a row of a tenant table`);
    const owner = (row as Record<string, unknown>)[table === 'tenants' ? 'id' : 'tenant_id'];
    if (owner !== tenantId)
      throw coded(
        'DR_ERR_FOREIGN_ROW',
        `line ${n}: a row of another tenant (${table}); nothing imported`,
      );
    const rows = byTable.get(table) ?? [];
    rows.push(row as Record<string, unknown>);
    byTable.set(table, rows);
  }
  const read: Record<string, number> = {};
  const added: Record<string, number> = {};
  let reindex: string[] = [];
  let agentsWithoutPassword = 0;
  await db.query('begin');
  try {
    for (const { table } of TENANT_TABLES) {
      const rows = byTable.get(table) ?? [];
      read[table] = rows.length;
      if (table === 'knowledge_chunks' || rows.length === 0) continue;
      const { rows: columns } = await db.query<{ name: string; type: string }>(
        `select column_name as name, data_type as type from information_schema.columns
          where table_schema = current_schema() and table_name = $1`,
        [table],
      );
      const types = new Map(columns.map((c) => [c.name, c.type]));
      let count = 0;
      for (const original of rows) {
        const row = { ...original };
        if (table === 'agents') row.password_hash = RESTORED_AGENT_HASH;
        const names = Object.keys(row);
        for (const name of names)
          if (!types.has(name))
            throw coded(
              'DR_ERR_IMPORT',
              `${table} has no column ${name} (an export of another version?)`,
            );
        const values = names.map((name) => {
          const value = row[name];
          // pg sends JS arrays as Postgres arrays: JSON columns get their text.
          return /json/.test(types.get(name)!) && value !== null ? JSON.stringify(value) : value;
        });
        const { rows: inserted } = await db.query<{ one: number }>(
          `insert into ${table} (${names.map((c) => `"${c}"`).join(', ')})
           values (${names.map((_, i) => `$${i + 1}`).join(', ')})
           on conflict do nothing returning 1 as one`,
          values,
        );
        count += inserted.length;
        if (table === 'agents') agentsWithoutPassword += inserted.length;
      }
      added[table] = count;
    }
    // Messages put back behind a conversation's last sequence number move it on.
    await db.query(
      `update conversations c set last_seq = m.top
         from (select conversation_id, max(seq) as top from messages where tenant_id = $1 group by conversation_id) m
        where c.tenant_id = $1 and c.id = m.conversation_id and c.last_seq < m.top`,
      [tenantId],
    );
    // Documents whose chunks are missing are embedded again.
    const { rows: pending } = await db.query<{ id: string }>(
      `update knowledge_documents d set status = 'pending'
        where d.tenant_id = $1 and d.status = 'ready'
          and not exists (select 1 from knowledge_chunks k where k.tenant_id = d.tenant_id and k.document_id = d.id)
        returning d.id`,
      [tenantId],
    );
    reindex = pending.map((d) => d.id);
    await db.query('commit');
  } catch (err) {
    await db.query('rollback').catch(() => undefined);
    throw err;
  }
  return { tenant: tenantId, read, added, reindex, agentsWithoutPassword };
}
