import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FastifyInstance } from 'fastify';
import { cacheKey } from '@parley/contracts';
import { refuseUpgrade } from '@parley/service-kit';
import { GatewayErrors, type GatewayErrorCode } from '../domain/errors.js';
import type { WidgetTokens } from '../domain/tokens.js';
import { ChatSocket, type SocketDeps } from './chat-socket.js';
import type { ConversationHub } from './conversation-hub.js';
import type { IpLimiter } from '../routes/ip-limiter.js';

/** The WebSocket endpoint's path. */
export const WS_PATH = '/v1/widget/ws';

interface Tracked {
  chat: ChatSocket;
  alive: boolean;
  slotKey: string;
  connectionId: string;
  /** Which slice of the heartbeat interval visits it. */
  slice: number;
}

/** The heartbeat visits one slice of the sockets every this long: the interval spread out. */
const SLICE_MS = 250;

/**
 * The widget WebSocket endpoint on the fastify server's `upgrade` event.
 * Before the handshake it checks the session token, the origin it was issued
 * to, the per-IP rate limit and the visitor's connection slots, refusing with
 * a coded HTTP error. Then a ping/pong heartbeat terminates dead peers.
 */
export class SocketServer {
  private readonly wss: WebSocketServer;
  private readonly tracked = new Map<WebSocket, Tracked>();
  /** Sockets upgrading or open, in all and by client address (the caps). */
  private held = 0;
  private readonly heldByIp = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** The sockets by heartbeat slice; a new socket joins the next slice in turn. */
  private slices: Array<Set<WebSocket>> = [new Set()];
  private nextSlice = 0;
  private beating = 0;
  private beats = 0;

  constructor(
    private readonly app: FastifyInstance,
    private readonly deps: SocketDeps & {
      tokens: WidgetTokens;
      hub: ConversationHub;
      ipLimiter: IpLimiter;
    },
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.settings.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /**
   * Starts accepting upgrades to {@link WS_PATH} (the app's upgrade router
   * answers any other path with the app's not-found code) and the heartbeat.
   */
  listen(): void {
    this.app.upgrades.route(WS_PATH, (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(req, socket, head).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'Upgrade failed');
        refuse(socket, 'GW_ERR_UNAVAILABLE', 'temporary failure');
      });
    });
    // One loop over every socket at once took seconds of CPU at 20,000
    // sockets, every interval: each slice is visited in turn instead, so every
    // socket is still seen once per interval, a few hundred at a time.
    const every = this.deps.settings.heartbeatIntervalMs;
    const count = Math.max(1, Math.round(every / SLICE_MS));
    this.slices = Array.from({ length: count }, () => new Set<WebSocket>());
    this.heartbeat = setInterval(() => this.beat(), every / count);
    this.heartbeat.unref();
  }

  /** Open sockets on this process. */
  get size(): number {
    return this.tracked.size;
  }

  /**
   * Closes every socket (1001 going away: the widget reconnects, to another
   * pod during a rollout) and stops the heartbeat.
   */
  async close(code = 1001, reason = 'server shutting down'): Promise<void> {
    clearInterval(this.heartbeat);
    for (const ws of this.tracked.keys()) ws.close(code, reason);
    const deadline = Date.now() + 2_000;
    while (this.tracked.size > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    for (const ws of this.tracked.keys()) ws.terminate();
    this.wss.close();
  }

  /** Drops every connection without a close handshake, as a crashed pod or cut network would. */
  terminateAll(): void {
    for (const ws of this.tracked.keys()) ws.terminate();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const limited = await this.deps.ipLimiter.check(req);
    if (limited)
      return this.refuse(socket, 'GW_ERR_RATE_LIMITED', 'too many connection attempts', limited);
    if (!this.hold(this.deps.ipLimiter.ip(req), socket)) return;
    const token = url.searchParams.get('token');
    const claims = token ? await this.deps.tokens.verifySession(token) : null;
    if (!claims)
      return this.refuse(
        socket,
        'GW_ERR_SESSION_TOKEN_INVALID',
        'missing, invalid or expired session token',
      );
    const origin = req.headers.origin;
    if (!origin)
      return this.refuse(socket, 'GW_ERR_ORIGIN_REQUIRED', 'an Origin header is required');
    if (origin !== claims.origin)
      return this.refuse(socket, 'GW_ERR_ORIGIN_FORBIDDEN', 'this origin may not use this session');

    const connectionId = randomUUID();
    const slotKey = cacheKey('slots', claims.tenantId, claims.visitorId);
    const slotTtl = this.deps.settings.heartbeatIntervalMs * 3;
    const { maxConnectionsPerVisitor } = this.deps.settings;
    const gotSlot = await this.deps.cache
      .acquireSlot(slotKey, connectionId, maxConnectionsPerVisitor, slotTtl)
      .catch(() => true); // the cache being down must not lock every visitor out
    if (!gotSlot)
      return this.refuse(
        socket,
        'GW_ERR_TOO_MANY_CONNECTIONS',
        `at most ${maxConnectionsPerVisitor} connections per visitor`,
      );

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.open(ws, new ChatSocket(ws, claims, this.deps), { slotKey, connectionId });
    });
  }

  /**
   * Counts the socket against this pod's caps until it closes (refused or
   * not), or refuses it: 503 at the pod's cap (another pod may have room),
   * 429 at the cap for its client address.
   */
  private hold(ip: string, socket: Duplex): boolean {
    const { maxConnections, maxConnectionsPerIp } = this.deps.settings;
    if (this.held >= maxConnections) {
      this.refuse(socket, 'GW_ERR_UNAVAILABLE', 'this server is at capacity', 1_000);
      return false;
    }
    const ofIp = this.heldByIp.get(ip) ?? 0;
    if (ofIp >= maxConnectionsPerIp) {
      this.refuse(
        socket,
        'GW_ERR_TOO_MANY_CONNECTIONS',
        `at most ${maxConnectionsPerIp} connections per address`,
      );
      return false;
    }
    this.held += 1;
    this.heldByIp.set(ip, ofIp + 1);
    socket.once('close', () => {
      this.held -= 1;
      const left = (this.heldByIp.get(ip) ?? 1) - 1;
      if (left > 0) this.heldByIp.set(ip, left);
      else this.heldByIp.delete(ip);
    });
    return true;
  }

  private async open(
    ws: WebSocket,
    chat: ChatSocket,
    ids: Pick<Tracked, 'slotKey' | 'connectionId'>,
  ): Promise<void> {
    const { claims } = chat;
    const slice = this.nextSlice;
    this.nextSlice = (this.nextSlice + 1) % this.slices.length;
    const tracked: Tracked = { chat, alive: true, slice, ...ids };
    this.tracked.set(ws, tracked);
    this.slices[slice]?.add(ws);
    this.deps.metrics.activeSessions.inc();
    ws.on('error', (err) => this.deps.logger.debug({ err }, 'Socket error'));
    ws.on('pong', () => (tracked.alive = true));
    let leave: (() => Promise<void>) | undefined;
    ws.once('close', () => {
      this.tracked.delete(ws);
      this.slices[tracked.slice]?.delete(ws);
      this.deps.metrics.activeSessions.dec();
      void leave?.();
      void this.deps.cache
        .releaseSlot(tracked.slotKey, tracked.connectionId)
        .catch(() => undefined);
    });
    // Frames that arrive while joining wait in order behind the join.
    let queue = this.deps.hub
      .join(claims.tenantId, claims.conversationId, chat.onLive)
      .then((l) => {
        leave = l;
        if (ws.readyState !== ws.OPEN) void l();
      });
    queue.catch((err: unknown) => {
      this.deps.logger.error({ err }, 'Could not subscribe to the conversation');
      ws.close(1011, 'temporary failure');
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      queue = queue.then(() => chat.onFrame(data, isBinary)).catch(() => undefined);
    });
  }

  /**
   * One slice of the sockets: a dead peer (no pong since its last visit) is
   * terminated, the others pinged, checked against storage (`refresh`) and
   * their connection slot kept (every other visit: it lives three intervals).
   * Their Redis commands go out in one pipeline (ioredis' auto-pipelining).
   */
  private beat(): void {
    const interval = this.deps.settings.heartbeatIntervalMs;
    const slice = this.slices[this.beating];
    this.beating = (this.beating + 1) % this.slices.length;
    if (this.beating === 0) this.beats++;
    if (!slice) return;
    const keepSlots = this.beats % 2 === 0;
    for (const ws of slice) {
      const tracked = this.tracked.get(ws);
      if (!tracked) continue;
      if (!tracked.alive) {
        ws.terminate();
        continue;
      }
      tracked.alive = false;
      ws.ping();
      tracked.chat.refresh(interval).catch(this.refreshFailed);
      if (keepSlots)
        this.deps.cache
          .acquireSlot(tracked.slotKey, tracked.connectionId, Number.MAX_SAFE_INTEGER, interval * 3)
          .catch(ignore);
    }
  }

  private readonly refreshFailed = (err: unknown) =>
    this.deps.logger.warn({ err }, 'Socket refresh failed');

  private refuse(
    socket: Duplex,
    code: GatewayErrorCode,
    message: string,
    retryAfterMs?: number,
  ): void {
    this.deps.metrics.refused.inc({ code });
    refuse(socket, code, message, retryAfterMs);
  }
}

const ignore = () => undefined;

/** Answers a refused upgrade with a coded JSON HTTP error and closes the socket. */
function refuse(
  socket: Duplex,
  code: GatewayErrorCode,
  message: string,
  retryAfterMs?: number,
): void {
  refuseUpgrade(
    socket,
    GatewayErrors[code],
    { code, message, ...(retryAfterMs ? { retryAfterMs } : {}) },
    retryAfterMs ? { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } : {},
  );
}
