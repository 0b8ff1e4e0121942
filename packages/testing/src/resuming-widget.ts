import { WidgetClient, type Frame } from './widget-client.js';

/** One user message a {@link ResumingWidget} sent, and what became of it. */
export interface SentMessage {
  clientMessageId: string;
  text: string;
  /** First send. */
  sentAt: number;
  /** Sends in all (resends after a lost socket, an error frame or silence). */
  sends: number;
  /** The `ack` (or the stored message echoed back) arrived. */
  ackedAt?: number;
  seq?: number;
  /** The assistant's stored reply (`clientMessageId: reply:<seq>`) arrived. */
  answeredAt?: number;
  answer?: string;
}

/** A socket that died and the resume that followed. */
export interface Reconnect {
  closedAt: number;
  /** The `state` frame on the new socket (the session resumed). */
  resumedAt?: number;
}

/** Options for {@link ResumingWidget}. */
export interface ResumingWidgetOptions {
  widgetKey: string;
  origin: string;
  /** The questions, used in turn. */
  questions: string[];
  /** Pause after each answer. @default 300 */
  thinkMs?: number;
  /** Resend an unacknowledged message after this long (the protocol's ~10 s). @default 10000 */
  resendAfterMs?: number;
}

/**
 * A widget that behaves as docs/protocol.md asks: it sends one message at a
 * time and waits for the answer, and when its socket dies it reconnects (with
 * backoff, through whatever `baseUrl` balances to), resumes after the highest
 * `seq` it saw, and resends what is unacknowledged under the same
 * `clientMessageId`. It records every send, ack, answer and reconnect, so a
 * test can check that nothing acknowledged was lost and everything was answered.
 */
export class ResumingWidget {
  readonly sent = new Map<string, SentMessage>();
  readonly reconnects: Reconnect[] = [];
  /** Stored messages seen, by `seq`. */
  readonly seen = new Map<number, Frame>();
  /** Error frames received (codes), in order. */
  readonly errors: string[] = [];
  conversationId = '';
  private visitorToken = '';
  private client: WidgetClient | undefined;
  private stopping = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private count = 0;
  /** When the current message goes again after an error frame (0: not due). */
  private resendAt = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly options: ResumingWidgetOptions,
  ) {}

  /** Connects and starts chatting; resolves once the first socket is open. */
  async start(): Promise<void> {
    await this.connect();
    this.running = this.loop();
  }

  /** Sends no more new messages; resolves once the last one is answered (or `timeoutMs` passed). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    this.wake();
    await Promise.race([this.running, new Promise((r) => setTimeout(r, timeoutMs))]);
    this.client?.ws.terminate();
  }

  /** Messages sent but not yet answered. */
  pending(): SentMessage[] {
    return [...this.sent.values()].filter((m) => m.answeredAt === undefined);
  }

  private async loop(): Promise<void> {
    const { questions, thinkMs = 300, resendAfterMs = 10_000 } = this.options;
    while (!this.stopping) {
      const clientMessageId = `m-${this.count}`;
      const text = questions[this.count++ % questions.length]!;
      const message: SentMessage = { clientMessageId, text, sentAt: Date.now(), sends: 0 };
      this.sent.set(clientMessageId, message);
      let lastSend = 0;
      while (message.answeredAt === undefined) {
        const now = Date.now();
        if (this.client?.closed) await this.reconnect();
        else if (
          lastSend === 0 ||
          (message.ackedAt === undefined &&
            ((this.resendAt > 0 && now >= this.resendAt) || now - lastSend >= resendAfterMs))
        ) {
          this.client?.send({ type: 'message', clientMessageId, text });
          message.sends++;
          lastSend = now;
          this.resendAt = 0;
        }
        if (message.answeredAt === undefined) await this.sleep(250);
        if (this.stopping && message.sends === 0) {
          this.sent.delete(clientMessageId); // never sent: nothing to answer
          break;
        }
      }
      if (!this.stopping) await this.sleep(thinkMs);
    }
  }

  private async reconnect(): Promise<void> {
    const record: Reconnect = { closedAt: Date.now() };
    this.reconnects.push(record);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connect(record);
        break;
      } catch (err) {
        if (this.stopping && attempt > 40) throw err;
        await this.sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random()));
      }
    }
    // Everything unacknowledged goes again: the protocol's "resend after reconnecting".
    for (const message of this.sent.values())
      if (message.ackedAt === undefined && message.sends > 0) {
        this.client!.send({
          type: 'message',
          clientMessageId: message.clientMessageId,
          text: message.text,
        });
        message.sends++;
      }
  }

  private async connect(record?: Reconnect): Promise<void> {
    const client = await WidgetClient.connect(this.baseUrl, {
      widgetKey: this.options.widgetKey,
      origin: this.options.origin,
      ...(this.conversationId
        ? { visitorToken: this.visitorToken, conversationId: this.conversationId }
        : {}),
    });
    this.client = client;
    this.conversationId = client.session.conversationId;
    this.visitorToken = client.session.visitorToken;
    client.ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Frame, record));
    client.ws.on('close', () => this.wake());
    client.send({ type: 'resume', afterSeq: Math.max(0, ...this.seen.keys()) });
  }

  private onFrame(frame: Frame, record: Reconnect | undefined): void {
    const now = Date.now();
    if (frame.type === 'state' && record && record.resumedAt === undefined) record.resumedAt = now;
    if (frame.type === 'ack') {
      const mine = this.sent.get(frame.clientMessageId as string);
      if (mine && mine.ackedAt === undefined) {
        mine.ackedAt = now;
        mine.seq = frame.seq as number;
      }
    }
    if (frame.type === 'error') {
      this.errors.push(String(frame.code));
      // A refused message goes again once the gateway says it may.
      if (frame.clientMessageId) this.resendAt = now + Number(frame.retryAfterMs ?? 1_000);
    }
    if (frame.type === 'message') {
      this.seen.set(frame.seq as number, frame);
      const id = frame.clientMessageId as string;
      const mine = this.sent.get(id);
      if (mine && mine.ackedAt === undefined) {
        mine.ackedAt = now;
        mine.seq = frame.seq as number;
      }
      if (id?.startsWith('reply:')) {
        const seq = Number(id.slice('reply:'.length));
        for (const m of this.sent.values())
          if (m.seq === seq && m.answeredAt === undefined) {
            m.answeredAt = now;
            m.answer = frame.text as string;
          }
      }
    }
    this.wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}
