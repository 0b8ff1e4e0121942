import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Logger } from '@parley/observability';
import type { Call, CallRegistry } from '../domain/calls.js';
import { FRAME_BYTES } from '../domain/codec.js';
import { TWILIO_STREAM_PATH } from '../routes/twilio.route.js';

/** Twilio Media Streams' messages to us (https://www.twilio.com/docs/voice/media-streams/websocket-messages). */
const inbound = z.discriminatedUnion('event', [
  z.object({ event: z.literal('connected'), protocol: z.string(), version: z.string() }),
  z.object({
    event: z.literal('start'),
    sequenceNumber: z.string(),
    streamSid: z.string().min(1).max(64),
    start: z.object({
      streamSid: z.string(),
      callSid: z.string().min(1).max(64),
      accountSid: z.string().optional(),
      tracks: z.array(z.string()).optional(),
      customParameters: z.record(z.string(), z.string()).default({}),
      mediaFormat: z.object({
        encoding: z.literal('audio/x-mulaw'),
        sampleRate: z.literal(8000),
        channels: z.literal(1),
      }),
    }),
  }),
  z.object({
    event: z.literal('media'),
    sequenceNumber: z.string(),
    streamSid: z.string(),
    media: z.object({
      track: z.string().optional(),
      chunk: z.string(),
      timestamp: z.string(),
      payload: z.string().max(8_192),
    }),
  }),
  z.object({
    event: z.literal('mark'),
    streamSid: z.string(),
    mark: z.object({ name: z.string() }),
  }),
  z.object({
    event: z.literal('dtmf'),
    streamSid: z.string(),
    dtmf: z.object({ track: z.string().optional(), digit: z.string().regex(/^[0-9*#A-D]$/) }),
  }),
  z.object({
    event: z.literal('stop'),
    streamSid: z.string(),
    stop: z.object({ callSid: z.string() }).optional(),
  }),
]);

export type MediaStreamEvent = z.infer<typeof inbound>;

/** What a call's media stream can do toward the caller. */
export interface CallChannel {
  /** Sends mu-law audio (split into 20 ms frames), then a mark named `mark` once it has played. */
  play(audio: Uint8Array, mark: string): void;
  /** Stops what is playing at once (Twilio's `clear`). */
  clear(): void;
  hangUp(): void;
}

/** What happens on a call, for the pipeline (speech recognition, answers, playback). */
export interface CallHandlers {
  started?(call: Call, channel: CallChannel): void;
  audio?(call: Call, mulaw: Uint8Array): void;
  digit?(call: Call, digit: string): void;
  marked?(call: Call, name: string): void;
  ended?(call: Call): void;
}

/**
 * The WebSocket endpoint Twilio streams a call to, speaking its Media
 * Streams protocol: `connected`, `start` (the call and its parameters),
 * `media` (base64 8 kHz mu-law), `mark`, `dtmf`, `stop`; and toward Twilio
 * `media`, `mark` and `clear`. A message that does not fit the protocol
 * closes the stream (1008); a call the process cannot take is closed too.
 */
export function mediaStreams(
  app: FastifyInstance,
  deps: { calls: CallRegistry; logger: Logger; handlers?: CallHandlers },
): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== TWILIO_STREAM_PATH) return;
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });
  app.addHook('preClose', async () => {
    for (const ws of wss.clients) ws.close(1001, 'shutting down');
    wss.close();
  });

  function serve(ws: WebSocket): void {
    let call: Call | undefined;
    const channel: CallChannel = {
      play(audio, mark) {
        if (!call || ws.readyState !== ws.OPEN) return;
        for (let i = 0; i < audio.length; i += FRAME_BYTES)
          ws.send(
            JSON.stringify({
              event: 'media',
              streamSid: call.streamSid,
              media: {
                payload: Buffer.from(audio.subarray(i, i + FRAME_BYTES)).toString('base64'),
              },
            }),
          );
        ws.send(JSON.stringify({ event: 'mark', streamSid: call.streamSid, mark: { name: mark } }));
      },
      clear() {
        if (call && ws.readyState === ws.OPEN)
          ws.send(JSON.stringify({ event: 'clear', streamSid: call.streamSid }));
      },
      hangUp() {
        ws.close(1000, 'call ended');
      },
    };
    const finish = () => {
      if (!call) return;
      const ended = deps.calls.end(call.streamSid);
      if (ended) deps.handlers?.ended?.(ended);
      call = undefined;
    };
    ws.on('message', (data, binary) => {
      let message: MediaStreamEvent;
      try {
        if (binary) throw new Error('binary frame');
        message = inbound.parse(JSON.parse(data.toString()));
      } catch {
        deps.logger.warn('Media stream message outside the protocol; closing');
        ws.close(1008, 'not a media streams message');
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
          const tenantId = message.start.customParameters.tenant;
          if (!tenantId) {
            ws.close(1008, 'no tenant parameter');
            return;
          }
          call = {
            callSid: message.start.callSid,
            streamSid: message.streamSid,
            tenantId,
            from: message.start.customParameters.from ?? null,
            startedAt: Date.now(),
            framesIn: 0,
            digits: [],
          };
          deps.calls.add(call);
          deps.logger.info({ callSid: call.callSid, tenantId }, 'Call started');
          deps.handlers?.started?.(call, channel);
          return;
        }
        case 'media':
          if (!call || message.streamSid !== call.streamSid) return;
          call.framesIn++;
          deps.handlers?.audio?.(
            call,
            new Uint8Array(Buffer.from(message.media.payload, 'base64')),
          );
          return;
        case 'dtmf':
          if (!call) return;
          call.digits.push(message.dtmf.digit);
          deps.handlers?.digit?.(call, message.dtmf.digit);
          return;
        case 'mark':
          if (call) deps.handlers?.marked?.(call, message.mark.name);
          return;
        case 'stop':
          finish();
          ws.close(1000, 'stopped');
          return;
      }
    });
    ws.on('close', finish);
    ws.on('error', () => ws.terminate());
  }
}
