import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** Why a run failed. */
export type ProbeErrorCode =
  | 'PROBE_ERR_SESSION'
  | 'PROBE_ERR_CONNECT'
  | 'PROBE_ERR_REFUSED'
  | 'PROBE_ERR_CLOSED'
  | 'PROBE_ERR_TIMEOUT'
  | 'PROBE_ERR_ANSWER_MISMATCH';

/** Options for {@link runProbe}. */
export interface ProbeOptions {
  /** The gateway's public base URL (`https://chat.example.com`, or the in-cluster service). */
  url: string;
  /** The probe tenant's widget key (public, like any widget's). */
  widgetKey: string;
  /** An origin the widget key allows (sent as the widget's page would). */
  origin: string;
  /** What the probe asks. */
  question: string;
  /** The answer must contain this, ignoring case. @default '' (any answer) */
  expect?: string;
  /** Or match this expression (tried when set, instead of `expect`). */
  expectRegex?: RegExp;
  /** The whole run's limit. @default 30000 */
  timeoutMs?: number;
  /** Largest frame accepted from the gateway. @default 1048576 */
  maxPayloadBytes?: number;
}

/** Seconds per phase of a run. */
export interface ProbeLatency {
  /** `POST /v1/widget/sessions`. */
  session?: number;
  /** The WebSocket handshake. */
  connect?: number;
  /** From sending the question to the answer's first piece (a `delta`, or the whole answer). */
  firstToken?: number;
  /** From sending the question to the stored answer. */
  answer?: number;
  /** The whole run. */
  total: number;
}

/** What one run found. */
export interface ProbeResult {
  success: boolean;
  /** When the run ended (ISO 8601). */
  at: string;
  latencySeconds: ProbeLatency;
  error?: ProbeErrorCode;
  /** The answer's first 200 characters (for the log line). */
  answer?: string;
  /** More about a failure (HTTP status, error code, close code); for the log line only. */
  detail?: string;
}

type Frame = { type: string } & Record<string, unknown>;

class Failure extends Error {
  constructor(
    readonly code: ProbeErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * One synthetic chat, end to end through the public API as the widget does
 * it (docs/protocol.md): a session over REST, the WebSocket, `resume`, the
 * question, then the stored answer (`reply:<seq>`), checked against the
 * expectation. Never throws: a failure is a result with its code.
 */
export async function runProbe(options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const latency: Omit<ProbeLatency, 'total'> = {};
  let answer: string | undefined;
  let ws: WebSocket | undefined;
  const finish = (failure?: Failure): ProbeResult => ({
    success: !failure,
    at: new Date().toISOString(),
    latencySeconds: { ...latency, total: seconds(performance.now() - started) },
    ...(failure ? { error: failure.code, detail: failure.detail } : {}),
    ...(answer !== undefined ? { answer: answer.slice(0, 200) } : {}),
  });
  try {
    const base = options.url.replace(/\/+$/, '');
    let t = performance.now();
    const session = await createSession(base, options, deadline);
    latency.session = seconds(performance.now() - t);

    t = performance.now();
    ws = await connect(base, session, options, deadline);
    latency.connect = seconds(performance.now() - t);

    const sent = performance.now();
    const reply = await ask(ws, options.question, deadline, () => {
      latency.firstToken ??= seconds(performance.now() - sent);
    });
    latency.answer = seconds(performance.now() - sent);
    latency.firstToken ??= latency.answer;
    answer = reply;
    const matches = options.expectRegex
      ? options.expectRegex.test(reply)
      : reply.toLowerCase().includes((options.expect ?? '').toLowerCase());
    if (!matches)
      throw new Failure(
        'PROBE_ERR_ANSWER_MISMATCH',
        `the answer does not ${options.expectRegex ? `match ${String(options.expectRegex)}` : `contain "${options.expect}"`}`,
      );
    return finish();
  } catch (err) {
    if (err instanceof Failure) return finish(err);
    if (deadline.aborted)
      return finish(new Failure('PROBE_ERR_TIMEOUT', `no answer within ${timeoutMs} ms`));
    return finish(
      new Failure('PROBE_ERR_SESSION', err instanceof Error ? err.message : String(err)),
    );
  } finally {
    ws?.close(1000);
  }
}

async function createSession(
  base: string,
  options: ProbeOptions,
  signal: AbortSignal,
): Promise<{ token: string; path: string }> {
  let res: Response;
  try {
    res = await fetch(`${base}/v1/widget/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: options.origin },
      body: JSON.stringify({ widgetKey: options.widgetKey }),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new Failure('PROBE_ERR_SESSION', `session request failed: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as {
    sessionToken?: string;
    websocketPath?: string;
    code?: string;
  };
  if (res.status !== 201 || !body.sessionToken || !body.websocketPath)
    throw new Failure(
      'PROBE_ERR_SESSION',
      `session refused: ${res.status} ${body.code ?? ''}`.trim(),
    );
  return { token: body.sessionToken, path: body.websocketPath };
}

function connect(
  base: string,
  session: { token: string; path: string },
  options: ProbeOptions,
  signal: AbortSignal,
): Promise<WebSocket> {
  const url = `${base.replace(/^http/, 'ws')}${session.path}?token=${encodeURIComponent(session.token)}`;
  const ws = new WebSocket(url, {
    origin: options.origin,
    handshakeTimeout: 10_000,
    maxPayload: options.maxPayloadBytes ?? 1_048_576,
  });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const abort = () => {
      ws.terminate();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    ws.once('open', () => {
      signal.removeEventListener('abort', abort);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      signal.removeEventListener('abort', abort);
      reject(new Failure('PROBE_ERR_CONNECT', `upgrade refused: ${res.statusCode}`));
      res.resume();
    });
    ws.once('error', (err) => {
      signal.removeEventListener('abort', abort);
      reject(new Failure('PROBE_ERR_CONNECT', `connection failed: ${err.message}`));
    });
  });
}

/** Sends the question and resolves with the stored answer to it (`reply:<seq>`). */
function ask(
  ws: WebSocket,
  question: string,
  signal: AbortSignal,
  onFirstPiece: () => void,
): Promise<string> {
  const clientMessageId = randomUUID();
  let seq: number | undefined;
  return new Promise((resolve, reject) => {
    const done = (err?: unknown, text?: string) => {
      signal.removeEventListener('abort', abort);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (err) reject(err);
      else resolve(text!);
    };
    const abort = () => done(signal.reason);
    const onClose = (code: number) =>
      done(new Failure('PROBE_ERR_CLOSED', `socket closed (${code}) before the answer`));
    const onMessage = (data: WebSocket.RawData) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (
        frame.type === 'error' &&
        (frame.clientMessageId === clientMessageId || !frame.clientMessageId)
      )
        return done(new Failure('PROBE_ERR_REFUSED', `error frame ${String(frame.code)}`));
      if (
        (frame.type === 'ack' || frame.type === 'message') &&
        frame.clientMessageId === clientMessageId
      )
        seq = frame.seq as number;
      if (frame.type === 'delta' && seq !== undefined && frame.replyTo === seq) onFirstPiece();
      if (
        frame.type === 'message' &&
        seq !== undefined &&
        frame.clientMessageId === `reply:${seq}` &&
        typeof frame.text === 'string'
      ) {
        onFirstPiece();
        done(undefined, frame.text);
      }
    };
    signal.addEventListener('abort', abort, { once: true });
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
    ws.send(JSON.stringify({ type: 'message', clientMessageId, text: question }));
  });
}
