import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '@parley/observability';
import type { Call, CallRegistry } from '../domain/calls.js';
import { encodeMulaw } from '../domain/codec.js';
import { mediaPayloadPcm, parseMediaStreamMessage } from '../domain/media-stream-message.js';
import { PacedPlayback, Ticker } from './playback.js';
import { TWILIO_STREAM_PATH } from '../routes/twilio.route.js';

/** What a call's media stream can do toward the caller. */
export interface CallChannel {
  /** Plays 8 kHz PCM paced in 20 ms mu-law frames; true once played, false if cleared first. */
  play(pcm: Int16Array): Promise<boolean>;
  /** Stops what is playing at once (Twilio's `clear`); the rest is never sent. */
  clear(): void;
  hangUp(): void;
}

/** What handles one call (the voice pipeline), made when its stream starts. */
export interface CallHandler {
  /** One 20 ms frame of the caller's audio, as 8 kHz PCM. */
  audio(frame: Int16Array): void;
  digit(key: string): void;
  ended(): void;
}

/** Checks the stream's parameters: the webhook signed them for this call. */
export type StreamAuthenticator = (call: {
  callSid: string;
  tenantId: string;
  from: string | null;
  token: string | undefined;
}) => boolean;

/**
 * The WebSocket endpoint Twilio streams a call to, speaking its Media
 * Streams protocol: `connected`, `start` (the call and its parameters),
 * `media` (base64 8 kHz mu-law), `mark`, `dtmf`, `stop`; and toward Twilio
 * `media`, `mark` and `clear`. A message that does not fit the protocol
 * closes the stream (1008), as do audio, keys or marks before `start` and a
 * start whose parameters the webhook did not sign; a call the process cannot
 * take is closed too (1013), and a message over 64 KiB by `ws` (1009).
 */
export function mediaStreams(
  app: FastifyInstance,
  deps: {
    calls: CallRegistry;
    logger: Logger;
    authenticate: StreamAuthenticator;
    /** Makes the call's pipeline once its stream started. */
    answer(call: Call, channel: CallChannel): CallHandler;
  },
): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const ticker = new Ticker();
  app.upgrades.route(TWILIO_STREAM_PATH, (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws)),
  );
  app.addHook('preClose', async () => {
    for (const ws of wss.clients) ws.close(1001, 'shutting down');
    wss.close();
  });

  function serve(ws: WebSocket): void {
    let call: Call | undefined;
    // The stream URL is public: a socket that does not start a signed call soon is closed.
    const startBy = setTimeout(() => {
      if (!call) ws.close(1008, 'no start');
    }, 5_000);
    let handler: CallHandler | undefined;
    let marks = 0;
    const echoed = new Set<string>();
    let awaitingMark: { name: string; close(): void } | null = null;
    const sendJson = (message: Record<string, unknown>) => {
      if (call && ws.readyState === ws.OPEN)
        ws.send(JSON.stringify({ ...message, streamSid: call.streamSid }));
    };
    const playback = new PacedPlayback(
      (frame) =>
        sendJson({ event: 'media', media: { payload: Buffer.from(frame).toString('base64') } }),
      ticker,
      // Twilio echoes a mark once the audio before it has played.
      () => sendJson({ event: 'mark', mark: { name: `utterance-${++marks}` } }),
    );
    const channel: CallChannel = {
      play: (pcm) => playback.play(encodeMulaw(pcm)),
      clear() {
        playback.clear();
        sendJson({ event: 'clear' });
      },
      hangUp() {
        playback.clear();
        // Twilio echoes the last mark once the audio before it has played: hang up then.
        const lastMark = `utterance-${marks}`;
        if (marks === 0 || echoed.has(lastMark)) {
          ws.close(1000, 'call ended');
          return;
        }
        const timer = setTimeout(() => ws.close(1000, 'call ended'), 1_500);
        awaitingMark = {
          name: lastMark,
          close: () => {
            clearTimeout(timer);
            ws.close(1000, 'call ended');
          },
        };
      },
    };
    const finish = () => {
      if (!call) return;
      playback.clear();
      const ended = deps.calls.end(call.streamSid);
      if (ended) {
        handler?.ended();
        deps.logger.info(
          { callSid: ended.callSid, seconds: Math.round((Date.now() - ended.startedAt) / 1000) },
          'Call ended',
        );
      }
      call = undefined;
    };
    ws.on('message', (data, binary) => {
      const parsed = binary ? null : parseMediaStreamMessage(data.toString());
      if (!parsed?.ok) {
        deps.logger.warn('Media stream message outside the protocol; closing');
        ws.close(1008, 'not a media streams message');
        return;
      }
      const message = parsed.event;
      // Twilio sends `connected`, then `start`: audio, keys or marks before it are not Twilio's.
      if (
        !call &&
        (message.event === 'media' || message.event === 'dtmf' || message.event === 'mark')
      ) {
        deps.logger.warn({ event: message.event }, 'Media stream message before start; closing');
        ws.close(1008, `${message.event} before start`);
        return;
      }
      switch (message.event) {
        case 'connected':
          return;
        case 'start': {
          if (call) return;
          const refusal = deps.calls.refusal();
          if (refusal) {
            ws.close(1013, refusal);
            return;
          }
          const params = message.start.customParameters;
          const tenantId = params.tenant;
          const from = params.from ?? null;
          if (
            !tenantId ||
            !deps.authenticate({
              callSid: message.start.callSid,
              tenantId,
              from,
              token: params.token,
            })
          ) {
            deps.logger.warn('Media stream start without valid parameters; closing');
            ws.close(1008, 'unsigned stream parameters');
            return;
          }
          call = {
            callSid: message.start.callSid,
            streamSid: message.streamSid,
            tenantId,
            from,
            startedAt: Date.now(),
            framesIn: 0,
            digits: [],
          };
          clearTimeout(startBy);
          deps.calls.add(call);
          deps.logger.info({ callSid: call.callSid, tenantId }, 'Call started');
          handler = deps.answer(call, channel);
          return;
        }
        case 'media':
          if (!call || message.streamSid !== call.streamSid) return;
          if (message.media.track && message.media.track !== 'inbound') return;
          call.framesIn++;
          handler?.audio(mediaPayloadPcm(message.media.payload));
          return;
        case 'dtmf':
          if (!call) return;
          call.digits.push(message.dtmf.digit);
          handler?.digit(message.dtmf.digit);
          return;
        case 'mark':
          echoed.add(message.mark.name);
          if (awaitingMark?.name === message.mark.name) awaitingMark.close();
          return;
        case 'stop':
          finish();
          ws.close(1000, 'stopped');
          return;
      }
    });
    ws.on('close', () => {
      clearTimeout(startBy);
      finish();
    });
    ws.on('error', () => ws.terminate());
  }
}
