import WebSocket from 'ws';

/** A frame the gateway sent (see docs/protocol.md). */
export type Frame = { type: string } & Record<string, unknown>;

/** The body and status of `POST /v1/widget/sessions`. */
export interface SessionResponse {
  status: number;
  body: Record<string, unknown> & {
    sessionToken?: string;
    visitorToken?: string;
    visitorId?: string;
    conversationId?: string;
    websocketPath?: string;
    code?: string;
  };
}

/** Calls the session endpoint as a widget on `origin` would. */
export async function createSession(
  baseUrl: string,
  body: Record<string, unknown>,
  origin: string | undefined,
  headers: Record<string, string> = {},
): Promise<SessionResponse> {
  const res = await fetch(`${baseUrl}/v1/widget/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}), ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as SessionResponse['body'] };
}

/** Options for {@link WidgetClient.connect}. */
export interface WidgetClientOptions {
  widgetKey: string;
  origin: string;
  visitorToken?: string;
  conversationId?: string;
  /** The page's language (BCP 47). */
  language?: string;
  /** The signed customer identity. */
  customer?: { id: string; signature: string };
  /** Answer the server's pings (turn off to play a dead peer). @default true */
  autoPong?: boolean;
}

/**
 * A scripted widget for tests and benchmarks: opens a session and a socket,
 * records every frame, and waits for frames matching a predicate.
 */
export class WidgetClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly session: Required<Pick<SessionResponse['body'], 'visitorToken' | 'conversationId'>>,
  ) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a session and a socket (not yet resumed). Throws with the refusal body. */
  static async connect(baseUrl: string, options: WidgetClientOptions): Promise<WidgetClient> {
    const { status, body } = await createSession(
      baseUrl,
      {
        widgetKey: options.widgetKey,
        ...(options.visitorToken ? { visitorToken: options.visitorToken } : {}),
        ...(options.conversationId ? { conversationId: options.conversationId } : {}),
        ...(options.language ? { language: options.language } : {}),
        ...(options.customer ? { customer: options.customer } : {}),
      },
      options.origin,
    );
    if (status !== 201) throw new Error(`session refused: ${status} ${JSON.stringify(body)}`);
    const ws = await openSocket(baseUrl, body.websocketPath!, body.sessionToken!, options.origin, {
      autoPong: options.autoPong ?? true,
    });
    return new WidgetClient(ws, {
      visitorToken: body.visitorToken!,
      conversationId: body.conversationId!,
    });
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Waits for the first frame (from index `from`) that matches; rejects after `timeoutMs`. */
  async waitFor(
    match: (frame: Frame) => boolean,
    { timeoutMs = 10_000, from = 0 } = {},
  ): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closed)
        throw new Error(`socket closed ${JSON.stringify(this.closed)} while waiting`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the socket is closed and returns the close code. */
  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    await this.waitFor(() => false, { timeoutMs }).catch(() => undefined);
    if (!this.closed) throw new Error(`socket still open after ${timeoutMs} ms`);
    return this.closed;
  }

  /** Message frames received, by sequence number. */
  messages(): Frame[] {
    return this.frames.filter((f) => f.type === 'message');
  }

  close(): void {
    this.ws.close(1000);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/**
 * Opens a raw socket to the gateway; rejects with `refused <status> <body>`
 * when the upgrade is refused.
 */
export function openSocket(
  baseUrl: string,
  path: string,
  token: string | undefined,
  origin: string | undefined,
  options: { autoPong?: boolean; maxPayload?: number; headers?: Record<string, string> } = {},
): Promise<WebSocket> {
  const url = `${baseUrl.replace(/^http/, 'ws')}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url, {
    origin,
    autoPong: options.autoPong ?? true,
    handshakeTimeout: 10_000,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new Error(`refused ${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
}
