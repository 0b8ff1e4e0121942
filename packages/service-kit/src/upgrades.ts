import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over a WebSocket upgrade to the path it was routed for. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

interface Log {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Answers a refused upgrade with a JSON HTTP error `{ code, message, ...extra }`
 * and closes the socket (extra headers such as `Retry-After` may be added).
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  body: { code: string; message: string } & Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const json = JSON.stringify(body);
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      head +
      `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
}

/**
 * The one listener of the server's `upgrade` event: every upgrade gets an
 * answer. Its socket gets an error handler before anything else (a peer that
 * resets it mid-handshake is dropped, not an uncaught error), then the handler
 * routed for its path takes it over, or it is refused with a 404.
 *
 * Node hands every upgrade request to `upgrade` listeners once there is one,
 * so a path nobody owns would otherwise wait for an answer that never comes.
 */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();

  /** `notFoundCode`: the code of the 404 for a path nobody owns (the app's catalogue). */
  constructor(
    private readonly log: Log,
    private readonly notFoundCode: () => string = () => 'SVC_ERR_NOT_FOUND',
  ) {}

  /** Routes upgrades to `path` (the exact pathname, query ignored) to `handler`. */
  route(path: string, handler: UpgradeHandler): void {
    if (this.routes.has(path)) throw new Error(`an upgrade handler for ${path} is already set`);
    this.routes.set(path, handler);
  }

  /** The paths routed so far. */
  get paths(): string[] {
    return [...this.routes.keys()];
  }

  /** The server's `upgrade` listener. */
  readonly handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (err) => {
      this.log.debug({ err }, 'Upgrade socket failed');
      socket.destroy();
    });
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://upgrade.invalid').pathname;
    } catch {
      return refuseUpgrade(socket, 400, { code: 'SVC_ERR_BAD_REQUEST', message: 'bad request' });
    }
    const handler = this.routes.get(path);
    if (!handler)
      return refuseUpgrade(socket, 404, {
        code: this.notFoundCode(),
        message: 'no such endpoint',
      });
    try {
      handler(req, socket, head);
    } catch (err) {
      this.log.error({ err }, 'Upgrade failed');
      refuseUpgrade(socket, 500, { code: 'SVC_ERR_INTERNAL', message: 'Internal error' });
    }
  };
}
