import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '@parley/observability';
import type { SqlDatabase } from '@parley/ports';
import type { Registry } from 'prom-client';
import type { GatewayErrorCode } from '../domain/errors.js';
import { Incidents } from '../domain/incidents.js';
import { PROBE_COMPONENT, StatusBoard, type ProbeResult } from '../domain/status-board.js';
import type { IpLimiter } from '../routes/ip-limiter.js';
import { operatorRoute } from '../routes/operator.route.js';
import { statusRoute } from '../routes/status.route.js';
import { BoardFeed } from './board-feed.js';
import { CachedIncidents, SqlIncidentStore } from './incident-store.js';
import { registerProbeMetrics } from './probe-metrics.js';
import { statusDocument, type StatusDocument } from './status-page.js';

/** What the status page runs on. */
export interface StatusOptions {
  db: SqlDatabase;
  logger: Logger;
  metrics: Registry;
  ipLimiter: IpLimiter;
  /** Components listed on the page, in order. */
  components: readonly string[];
  pollSeconds: number;
  /** Operators' token; empty turns /admin/* off. */
  operatorToken: string;
  onRefused(code: GatewayErrorCode): void;
}

/** How long one rendering of the public document is reused (bounds the work of many pollers). */
const DOCUMENT_REUSE_MS = 1_000;
/** Incidents changed this long ago still show in the operators' list. */
const OPERATOR_LIST_MS = 90 * 86_400_000;

/**
 * The status page on this gateway: the board fed by every service's
 * reports, incidents from Postgres, the public `/status` and `/status.json`,
 * the operators' API and the probe's metrics.
 */
export async function registerStatus(app: FastifyInstance, options: StatusOptions): Promise<void> {
  const log = options.logger.child({ component: 'status' });
  const board = new StatusBoard({ components: options.components });
  const feed = new BoardFeed({ board, publisher: app.status, logger: log });
  const store = new SqlIncidentStore(options.db);
  const cached = new CachedIncidents(store, {
    onError: (err) =>
      log.warn({ err }, 'Incidents unreadable; the status page shows the last copy'),
  });
  const incidents = new Incidents(store, { newId: randomUUID });

  let rendered: { at: number; doc: Promise<StatusDocument> } | undefined;
  const document = () => {
    const now = Date.now();
    if (!rendered || now - rendered.at >= DOCUMENT_REUSE_MS) {
      const doc = cached
        .current()
        .then((current) => statusDocument(board.view({ feedUp: feed.up }), current, new Date()));
      rendered = { at: now, doc };
      doc.catch(() => (rendered = undefined));
    }
    return rendered.doc;
  };

  registerProbeMetrics(options.metrics, () => board.view({ feedUp: feed.up }).probe);

  const recordProbe = async (result: ProbeResult, intervalSeconds: number) => {
    await feed
      .share({
        v: 1,
        service: 'probe',
        instance: 'parley-probe',
        components: [PROBE_COMPONENT],
        state: result.success ? 'healthy' : 'critical',
        at: result.at,
        // A probe that stops reporting shows "no data" after three missed runs.
        ttlMs: 3 * intervalSeconds * 1000,
        dependencies: {},
        probe: result,
      })
      .catch((err: unknown) => log.warn({ err }, 'Probe result kept on this gateway only'));
  };

  await app.register(statusRoute, {
    ipLimiter: options.ipLimiter,
    document,
    pollSeconds: options.pollSeconds,
    onRefused: options.onRefused,
  });
  await app.register(operatorRoute, {
    token: options.operatorToken,
    incidents,
    listIncidents: () =>
      store.recent(
        { since: new Date(Date.now() - OPERATOR_LIST_MS).toISOString(), limit: 100 },
        'primary',
      ),
    components: [...new Set([...options.components, PROBE_COMPONENT])],
    onChanged: () => {
      cached.invalidate();
      rendered = undefined;
    },
    recordProbe,
    board: () => board.snapshot(),
  });

  app.addHook('onReady', () => feed.start());
  app.addHook('onClose', () => feed.stop());
}
