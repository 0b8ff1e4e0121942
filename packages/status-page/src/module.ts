import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { StatusPageSettings } from './config.js';
import { Incidents } from './domain/incidents.js';
import { PROBE_COMPONENT, StatusBoard, type ProbeResult } from './domain/status-board.js';
import type { StatusPageErrorCode } from './errors.js';
import { assetsRoute } from './routes/assets.route.js';
import { operatorRoute } from './routes/operator.route.js';
import { statusRoute, type RequestLimiter } from './routes/status.route.js';
import { BoardFeed } from './board-feed.js';
import { CachedIncidents, SqlIncidentStore } from './incident-store.js';
import { registerProbeMetrics } from './probe-metrics.js';
import { statusDocument, type StatusDocument } from './status-page.js';

/** Options for {@link statusPageModule}. */
export interface StatusPageModuleOptions {
  settings: StatusPageSettings;
  /**
   * The public routes' per-IP rate limit (the gateway's `IpLimiter` on a
   * bucket of its own, so status polling never eats into session requests).
   */
  ipLimiter: RequestLimiter;
  /** Called with the code of each request the public routes refuse (the host's metric). */
  onRefused?(code: StatusPageErrorCode): void;
}

/** How long one rendering of the public document is reused (bounds the work of many pollers). */
const DOCUMENT_REUSE_MS = 1_000;
/** Incidents changed this long ago still show in the operators' list. */
const OPERATOR_LIST_MS = 90 * 86_400_000;

/**
 * The status page: the board fed by every service's reports (`app.status`),
 * incidents from Postgres (`app.ports.db`), the public `/status`,
 * `/status.json` and their `/status.js` and `/status.css`, the operators'
 * API (`/admin/*`) and the probe's metrics (`app.metrics`). Mounted by the
 * gateway, after it set its `GW` error prefix.
 */
async function statusPage(
  app: FastifyInstance,
  { settings, ipLimiter, onRefused = () => undefined }: StatusPageModuleOptions,
): Promise<void> {
  const log = app.logger.child({ component: 'status' });
  const board = new StatusBoard({ components: settings.statusComponents });
  const feed = new BoardFeed({ board, publisher: app.status, logger: log });
  const store = new SqlIncidentStore(app.ports.db);
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

  registerProbeMetrics(app.metrics, () => board.view({ feedUp: feed.up }).probe);

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
    ipLimiter,
    document,
    pollSeconds: settings.statusPollSeconds,
    onRefused,
  });
  await app.register(assetsRoute);
  await app.register(operatorRoute, {
    token: settings.adminToken,
    incidents,
    listIncidents: () =>
      store.recent(
        { since: new Date(Date.now() - OPERATOR_LIST_MS).toISOString(), limit: 100 },
        'primary',
      ),
    components: [...new Set([...settings.statusComponents, PROBE_COMPONENT])],
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

/**
 * The status page as a module: mount it with {@link StatusPageModuleOptions}
 * on an app whose `app.ports` an infrastructure plugin provided.
 */
export const statusPageModule = fp(statusPage, { name: 'parley-status-page', fastify: '5.x' });
