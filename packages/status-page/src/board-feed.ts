import { z } from 'zod';
import type { Logger } from '@parley/observability';
import type { Unsubscribe } from '@parley/ports';
import type { ReportOutcome, StatusPublisher, StatusReport } from '@parley/service-kit';
import type { BoardEntry, BoardReport, StatusBoard } from './domain/status-board.js';

const name = z.string().regex(/^[A-Za-z0-9._:/-]{1,128}$/);
const seconds = z.number().finite().min(0).max(86_400);

/** A probe run as the board carries it (and as the operators' API takes it). */
export const probeResultSchema = z.strictObject({
  success: z.boolean(),
  at: z.iso.datetime({ offset: true }),
  latencySeconds: z.strictObject({
    session: seconds.optional(),
    connect: seconds.optional(),
    firstToken: seconds.optional(),
    answer: seconds.optional(),
    total: seconds,
  }),
  error: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,63}$/)
    .optional(),
});

/** What a report from the channel must look like; anything else is dropped (other versions, garbage). */
export const reportSchema = z.object({
  v: z.literal(1),
  service: name,
  instance: name,
  components: z.array(name).min(1).max(20),
  state: z.enum(['healthy', 'degraded', 'critical']),
  at: z.iso.datetime({ offset: true }),
  ttlMs: z.number().int().min(1_000).max(86_400_000),
  dependencies: z
    .record(
      name,
      z.object({
        up: z.boolean(),
        critical: z.boolean(),
        availability: z.number().min(0).max(1),
        mttrSeconds: z.number().min(0).nullable(),
      }),
    )
    .refine((d) => Object.keys(d).length <= 50),
  degradation: z
    .object({ level: z.string().max(8), reasons: z.array(z.string().max(500)).max(20) })
    .optional(),
  probe: probeResultSchema.optional(),
});

const MAX_MESSAGE_BYTES = 64 * 1024;

/** Parses a report from the channel; undefined when it is not one. */
export function parseReport(message: string): BoardReport | undefined {
  if (message.length > MAX_MESSAGE_BYTES) return undefined;
  try {
    const parsed = reportSchema.safeParse(JSON.parse(message));
    return parsed.success ? (parsed.data as BoardReport) : undefined;
  } catch {
    return undefined;
  }
}

/** Options for {@link BoardFeed}. */
export interface BoardFeedOptions {
  board: StatusBoard;
  /** This process's publisher (`app.status`): its own reports, and the channel once attached. */
  publisher: StatusPublisher;
  logger: Logger;
  /** How often the board's snapshot is written for gateways that start later. @default 10000 */
  snapshotIntervalMs?: number;
  now?: () => number;
}

/**
 * Fills the status board: this process's own reports directly, every other
 * process's from the region's channel, and on start the snapshot the
 * gateways keep in the cache (so a restarted gateway does not wait a whole
 * check interval for every service). While publishing fails, the feed is
 * down and the page shows last-known states, marked stale.
 */
export class BoardFeed {
  private unsubscribe: Unsubscribe | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private lastOutcome: ReportOutcome = 'local';
  private readonly stopLocal: () => void;
  private readonly now: () => number;

  constructor(private readonly options: BoardFeedOptions) {
    this.now = options.now ?? Date.now;
    this.stopLocal = options.publisher.onReport((report, outcome) => {
      this.lastOutcome = outcome;
      this.take(report);
    });
  }

  /** False while this process's reports cannot be published (the cache is unreachable). */
  get up(): boolean {
    return this.lastOutcome !== 'failed';
  }

  /** Subscribes to the channel and loads the snapshot (when the publisher is attached). */
  async start(): Promise<void> {
    await this.connect();
    const interval = this.options.snapshotIntervalMs ?? 10_000;
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  /** Puts a report on every gateway's board (the probe's results): locally, then on the channel. */
  async share(report: BoardReport): Promise<void> {
    this.take(report);
    const target = this.options.publisher.attached;
    if (target) await target.cache.publish(target.channel, JSON.stringify(report));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopLocal();
    await this.unsubscribe?.().catch(() => undefined);
    this.unsubscribe = undefined;
  }

  private take(report: StatusReport | BoardReport): void {
    this.options.board.ingest(report as BoardReport, this.now());
    this.dirty = true;
  }

  private async connect(): Promise<void> {
    const target = this.options.publisher.attached;
    if (!target || this.unsubscribe) return;
    try {
      this.unsubscribe = await target.cache.subscribe(target.channel, (message) => {
        const report = parseReport(message);
        if (report) this.take(report);
      });
      const saved = await target.cache.get(snapshotKey(target.channel));
      if (saved) this.options.board.restore(parseSnapshot(saved));
    } catch (err) {
      this.options.logger.warn({ err }, 'Status board feed unavailable; retrying');
    }
  }

  private async tick(): Promise<void> {
    await this.connect();
    const target = this.options.publisher.attached;
    if (!target || !this.dirty || !this.up) return;
    this.dirty = false;
    const entries = this.options.board.snapshot();
    const ttlMs = Math.max(60_000, ...entries.map((e) => e.report.ttlMs));
    await target.cache
      .set(snapshotKey(target.channel), JSON.stringify(entries), ttlMs)
      .catch(() => undefined);
  }
}

function snapshotKey(channel: string): string {
  return `${channel}:board`;
}

function parseSnapshot(saved: string): BoardEntry[] {
  try {
    const raw = JSON.parse(saved) as unknown;
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((e: unknown) => {
      const { report, receivedAt } = (e ?? {}) as { report?: unknown; receivedAt?: unknown };
      const parsed = parseReport(JSON.stringify(report));
      return parsed && typeof receivedAt === 'number' ? [{ report: parsed, receivedAt }] : [];
    });
  } catch {
    return [];
  }
}
