import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Queryable } from './run.js';

/**
 * A tenant's data, table by table: for the tenant's data request, or to
 * restore one tenant without touching the others. Every query names the
 * tenant (nothing of another tenant can come out), and secrets stay out:
 * agents' password hashes, the tenant's identity secret, embeddings (derived
 * data, made again on import).
 */
export const TENANT_TABLES: ReadonlyArray<{
  table: string;
  where: string;
  omit: readonly string[];
  order: string;
}> = [
  { table: 'tenants', where: 'id = $1', omit: ['identity_secret'], order: 'id' },
  { table: 'conversations', where: 'tenant_id = $1', omit: [], order: 'id' },
  { table: 'messages', where: 'tenant_id = $1', omit: [], order: 'conversation_id, seq' },
  { table: 'agents', where: 'tenant_id = $1', omit: ['password_hash'], order: 'id' },
  { table: 'handoffs', where: 'tenant_id = $1', omit: [], order: 'id' },
  { table: 'callbacks', where: 'tenant_id = $1', omit: [], order: 'id' },
  { table: 'knowledge_documents', where: 'tenant_id = $1', omit: [], order: 'id' },
  {
    table: 'knowledge_chunks',
    where: 'tenant_id = $1',
    omit: ['embedding', 'embedding_vector'],
    order: 'document_id, ord',
  },
  { table: 'phone_numbers', where: 'tenant_id = $1', omit: [], order: 'number' },
];

/** Writes the tenant's rows as JSON lines (`{"table": ..., "row": {...}}`) in one snapshot; returns rows per table. */
export async function exportTenant(
  db: Queryable,
  tenantId: string,
  file: string,
): Promise<Record<string, number>> {
  const out = createWriteStream(file, { mode: 0o600 });
  const counts: Record<string, number> = {};
  await db.query('begin transaction isolation level repeatable read read only');
  try {
    for (const { table, where, omit, order } of TENANT_TABLES) {
      const { rows: columns } = await db.query<{ column_name: string }>(
        `select column_name from information_schema.columns
          where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
        [table],
      );
      const keep = columns.map((c) => c.column_name).filter((c) => !omit.includes(c));
      if (keep.length === 0) continue;
      const list = keep.map((c) => `"${c}"`).join(', ');
      const { rows } = await db.query<Record<string, unknown>>(
        `select ${list} from ${table} where ${where} order by ${order}`,
        [tenantId],
      );
      counts[table] = rows.length;
      for (const row of rows)
        if (!out.write(`${JSON.stringify({ table, row })}\n`)) await once(out, 'drain');
    }
  } finally {
    await db.query('rollback').catch(() => undefined);
    out.end();
    await once(out, 'close');
  }
  return counts;
}
