import type { ReadConsistency, SqlDatabase, WritePosition } from '@parley/ports';
import type {
  Incident,
  IncidentChange,
  IncidentStatus,
  IncidentStore,
  IncidentTemplate,
} from './domain/incidents.js';

interface IncidentRow {
  id: string;
  title: string;
  status: IncidentStatus;
  components: string[];
  created_at: Date | string;
  updated_at: Date | string;
  resolved_at: Date | string | null;
  updates: Array<{ seq: number; template: string; status: string; text: string; at: string }>;
}

const iso = (v: Date | string) => new Date(v).toISOString();

// Platform-wide rows: incidents belong to no tenant (migration 0011), so no query names one.
const SELECT = `
  select i.id, i.title, i.status, i.components, i.created_at, i.updated_at, i.resolved_at,
         coalesce((select json_agg(json_build_object('seq', u.seq, 'template', u.template,
                                                     'status', u.status, 'text', u.body,
                                                     'at', u.created_at) order by u.seq)
                     from status_incident_updates u where u.incident_id = i.id), '[]'::json) as updates
    from status_incidents i`;

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    components: row.components,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    resolvedAt: row.resolved_at === null ? null : iso(row.resolved_at),
    updates: row.updates.map((u) => ({
      seq: u.seq,
      template: u.template as IncidentTemplate,
      status: u.status as IncidentStatus,
      text: u.text,
      at: iso(u.at),
    })),
  };
}

/**
 * Incidents in Postgres: writes in transactions on the primary; the page's
 * reads on a replica, but after this process's last write (read-your-writes),
 * each incident and its timeline in one statement.
 */
export class SqlIncidentStore implements IncidentStore {
  private lastWrite: WritePosition | undefined;

  constructor(private readonly db: SqlDatabase) {}

  async insert(incident: Incident): Promise<void> {
    const { position } = await this.db.transaction(async (tx) => {
      await tx.query(
        `insert into status_incidents (id, title, status, components, created_at, updated_at, resolved_at)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [
          incident.id,
          incident.title,
          incident.status,
          incident.components,
          incident.createdAt,
          incident.updatedAt,
          incident.resolvedAt,
        ],
      );
      for (const u of incident.updates)
        await tx.query(
          `insert into status_incident_updates (incident_id, seq, template, status, body, created_at)
           values ($1, $2, $3, $4, $5, $6)`,
          [incident.id, u.seq, u.template, u.status, u.text, u.at],
        );
    });
    this.lastWrite = position;
  }

  async change(
    id: string,
    change: (current: Incident) => IncidentChange,
  ): Promise<Incident | null> {
    const { result, position } = await this.db.transaction(async (tx) => {
      // The row lock makes concurrent changes of one incident take turns.
      const locked = await tx.query('select id from status_incidents where id = $1 for update', [
        id,
      ]);
      if (!locked.length) return null;
      const [row] = await tx.query<IncidentRow>(`${SELECT} where i.id = $1`, [id]);
      const current = toIncident(row!);
      const next = change(current);
      const seq = current.updates.length + 1;
      await tx.query(
        'update status_incidents set status = $2, updated_at = $3, resolved_at = $4 where id = $1',
        [id, next.status, next.updatedAt, next.resolvedAt],
      );
      await tx.query(
        `insert into status_incident_updates (incident_id, seq, template, status, body, created_at)
         values ($1, $2, $3, $4, $5, $6)`,
        [id, seq, next.update.template, next.update.status, next.update.text, next.update.at],
      );
      return {
        ...current,
        status: next.status,
        updatedAt: next.updatedAt,
        resolvedAt: next.resolvedAt,
        updates: [...current.updates, { seq, ...next.update }],
      };
    });
    this.lastWrite = position;
    return result;
  }

  /** Open incidents and those changed since `since`, newest first. */
  async recent(
    { since, limit }: { since: string; limit: number },
    consistency?: ReadConsistency,
  ): Promise<Incident[]> {
    const rows = await this.db.read<IncidentRow>(
      `${SELECT} where i.resolved_at is null or i.updated_at >= $1 order by i.created_at desc limit $2`,
      [since, limit],
      consistency ?? (this.lastWrite ? { after: this.lastWrite } : 'replica'),
    );
    return rows.map(toIncident);
  }
}

/** Options for {@link CachedIncidents}. */
export interface CachedIncidentsOptions {
  /** How long a read is reused. @default 5000 */
  ttlMs?: number;
  /** Longest a read may take before the last copy is served (the read goes on). @default 2000 */
  readTimeoutMs?: number;
  /** Resolved incidents stay on the page this long. @default 604800000 (7 days) */
  windowMs?: number;
  /** Most incidents on the page. @default 20 */
  limit?: number;
  now?: () => number;
  /** Called when a read fails (the page then shows the last copy). */
  onError?: (err: unknown) => void;
}

/**
 * The page's incidents, read at most every `ttlMs`; when the database fails
 * or is slow, the last copy is served, marked stale, so the status page
 * outlives a database outage.
 */
export class CachedIncidents {
  private copy: { incidents: Incident[]; at: number } | undefined;
  private loading: { promise: Promise<Incident[]>; since: number; generation: number } | undefined;
  private generation = 0;
  /** After a failed read, the database is left alone for `ttlMs`. */
  private failedAt = Number.NEGATIVE_INFINITY;
  private readonly opts: Required<Omit<CachedIncidentsOptions, 'onError'>> &
    Pick<CachedIncidentsOptions, 'onError'>;

  constructor(
    private readonly store: Pick<SqlIncidentStore, 'recent'>,
    options: CachedIncidentsOptions = {},
  ) {
    this.opts = {
      ttlMs: 5_000,
      readTimeoutMs: 2_000,
      windowMs: 7 * 86_400_000,
      limit: 20,
      now: Date.now,
      ...options,
    };
  }

  /** The incidents to show, and whether they are a copy kept from before a failed read. */
  async current(): Promise<{ incidents: Incident[]; stale: boolean }> {
    const now = this.opts.now();
    if (this.copy && now - this.copy.at < this.opts.ttlMs)
      return { incidents: this.copy.incidents, stale: false };
    if (now - this.failedAt < this.opts.ttlMs)
      return { incidents: this.copy?.incidents ?? [], stale: true };
    // A read that hangs past the TTL is abandoned (its late result is ignored) and another starts.
    if (
      !this.loading ||
      now - this.loading.since > Math.max(this.opts.ttlMs, this.opts.readTimeoutMs)
    )
      this.loading = this.load(now);
    let timer: NodeJS.Timeout | undefined;
    try {
      const incidents = await Promise.race([
        this.loading.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('incident read timed out')),
            this.opts.readTimeoutMs,
          );
        }),
      ]);
      return { incidents, stale: false };
    } catch (err) {
      this.failedAt = this.opts.now();
      this.opts.onError?.(err);
      return { incidents: this.copy?.incidents ?? [], stale: true };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the copy and any read in progress (after an operator's change on this process). */
  invalidate(): void {
    this.copy = undefined;
    this.loading = undefined;
    this.generation++;
    this.failedAt = Number.NEGATIVE_INFINITY;
  }

  private load(now: number): NonNullable<CachedIncidents['loading']> {
    const generation = ++this.generation;
    const promise = this.store
      .recent({ since: new Date(now - this.opts.windowMs).toISOString(), limit: this.opts.limit })
      .then((incidents) => {
        if (generation === this.generation) this.copy = { incidents, at: this.opts.now() };
        return incidents;
      })
      .finally(() => {
        if (this.loading?.generation === generation) this.loading = undefined;
      });
    return { promise, since: now, generation };
  }
}
