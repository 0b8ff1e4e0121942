import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import { LRUCache } from 'lru-cache';
import { trustedHops } from '@parley/config';
import { EventRegistry, allEvents } from '@parley/contracts';
import { ConversationStore, SessionCache, TenantStore } from '@parley/conversations';
import { statusPageModule } from '@parley/status-page';
import type { GatewaySettings } from './config.js';
import { WidgetTokens } from './domain/tokens.js';
import { gatewayMetrics } from './metrics.js';
import { IpLimiter } from './routes/ip-limiter.js';
import { sessionsRoute, tenantCache } from './routes/sessions.route.js';
import { widgetRoute } from './routes/widget.route.js';
import { tenantsRoute } from './routes/tenants.route.js';
import { ConversationHub } from './ws/conversation-hub.js';
import { SocketServer } from './ws/socket-server.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's sockets on this process (for the one-process host and tests). */
    gateway: Gateway;
  }
}

/** Options for {@link gatewayModule}. */
export interface GatewayModuleOptions {
  settings: GatewaySettings;
  /** This installation's region (PARLEY_REGION): a visitor resuming here makes it the conversation's home. */
  region?: string;
}

/** What {@link gatewayModule} decorates the app with, as `app.gateway`. */
export interface Gateway {
  /** Open sockets on this process. */
  readonly sockets: number;
  /** Drops every socket without a close handshake (a cut network, a killed pod). */
  terminateAll(): void;
}

/**
 * The widget's edge: the session route, the WebSocket endpoint, the widget
 * script and demo page, the status page (`/status`) and the operators'
 * incident API (`/admin/*`). Runs on `app.ports`, the same in both modes.
 */
async function gateway(
  app: FastifyInstance,
  { settings, region }: GatewayModuleOptions,
): Promise<void> {
  const logger = app.logger;
  const { bus, cache, db } = app.ports;
  // The widget's endpoints answer with the gateway's documented codes (docs/protocol.md).
  app.errorPrefix = 'GW';
  const metrics = gatewayMetrics(app.metrics);
  const store = new ConversationStore(db);
  const tokens = new WidgetTokens(
    settings.sessionSecret,
    settings.sessionTtlSeconds,
    settings.visitorTtlDays * 86_400,
  );
  const hops = trustedHops(settings);
  const ipLimiter = new IpLimiter(
    cache,
    { capacity: settings.ipBurst, refillPerSecond: settings.ipPerSecond },
    hops,
  );

  // What this pod remembers of tenants; the tenant API clears both on a change (other pods: 30 s).
  const allowed = new LRUCache<string, boolean>({ max: 10_000, ttl: 30_000 });
  const tenantsByKey = tenantCache();
  await app.register(async (scope) => {
    // CORS answers name an origin only when a tenant allows it (the session route then checks
    // it is this widget's tenant); any other origin gets no CORS headers at all.
    await scope.register(cors, {
      methods: ['POST'],
      maxAge: 600,
      origin: (origin, callback) => {
        if (!origin) return callback(null, false);
        const known = allowed.get(origin);
        if (known !== undefined) return callback(null, known);
        store.isAllowedOrigin(origin).then(
          (ok) => {
            allowed.set(origin, ok, ok ? {} : { ttl: 2_000 });
            callback(null, ok);
          },
          // Storage down: no CORS headers (the session request could not be served either).
          () => callback(null, false),
        );
      },
    });
    await scope.register(sessionsRoute, {
      store,
      tokens,
      ipLimiter,
      onRefused: (code) => metrics.refused.inc({ code }),
      tenantCache: tenantsByKey,
    });
  });
  await app.register(widgetRoute);
  // The operators' tenant API (onboarding, widget keys, identity secret).
  await app.register(tenantsRoute, {
    token: settings.adminToken,
    tenants: new TenantStore(db),
    onChanged: () => {
      tenantsByKey.clear();
      allowed.clear();
    },
  });
  // The public status page and the operators' incident API.
  await app.register(statusPageModule, {
    settings,
    ipLimiter: new IpLimiter(
      cache,
      { capacity: settings.ipBurst, refillPerSecond: settings.ipPerSecond },
      hops,
      'parley:rl:status:',
    ),
    onRefused: (code) => metrics.refused.inc({ code }),
  });

  const sockets = new SocketServer(app, {
    bus: bus,
    cache: cache,
    store,
    // Only the chat service writes session state, so this process keeps no L1 copy of it.
    sessions: new SessionCache(cache, { l1TtlMs: 0 }),
    registry: new EventRegistry(allEvents),
    settings,
    ...(region ? { region } : {}),
    metrics,
    logger: logger.child({ component: 'ws' }),
    tokens,
    ipLimiter,
    hub: new ConversationHub(cache, logger),
  });
  sockets.listen();
  // Sockets close before the adapters (hooks run in reverse order of registration).
  app.addHook('preClose', () => sockets.close());
  app.decorate('gateway', {
    get sockets() {
      return sockets.size;
    },
    terminateAll: () => sockets.terminateAll(),
  } satisfies Gateway);
}

export const gatewayModule = fp(gateway, { name: 'parley-gateway', fastify: '5.x' });
