import { createHmac, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { z } from 'zod';
import type { CallRegistry } from '../domain/calls.js';
import { voiceError } from '../errors.js';

/** What the Twilio webhook needs. */
export interface TwilioRouteOptions {
  /** Twilio's auth token (signs its webhooks). */
  authToken: string;
  /** Where Twilio reaches this service (the signed URL's base; streams connect to it). */
  publicUrl: string;
  /** The tenant a called number belongs to (null: none). */
  tenantOf(number: string): Promise<string | null>;
  calls: CallRegistry;
}

export const TWILIO_INCOMING_PATH = '/v1/voice/twilio/incoming';
export const TWILIO_STREAM_PATH = '/v1/voice/twilio/stream';

/** The webhook's form fields this route reads (Twilio sends many more, all signed). */
const incomingCall = z.looseObject({
  To: z.string().describe('The called number: it names the tenant'),
  From: z.string().optional(),
  CallSid: z.string(),
});

/**
 * The token the webhook gives a call's stream: an HMAC of the call, tenant
 * and caller under the auth token, so that only a stream Twilio opened for
 * this webhook's call can claim its tenant (the stream URL itself is public).
 */
export function streamToken(
  authToken: string,
  call: { callSid: string; tenantId: string; from: string | null },
): string {
  return createHmac('sha256', authToken)
    .update(`parley-stream\n${call.callSid}\n${call.tenantId}\n${call.from ?? ''}`)
    .digest('base64url');
}

/** Whether `token` is the stream token of `call`. */
export function validStreamToken(
  authToken: string,
  call: { callSid: string; tenantId: string; from: string | null; token: string | undefined },
): boolean {
  if (!call.token) return false;
  const expected = Buffer.from(streamToken(authToken, call));
  const given = Buffer.from(call.token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * `POST /v1/voice/twilio/incoming`: Twilio's webhook for an incoming call.
 * Its `X-Twilio-Signature` is checked against the auth token (403 otherwise);
 * the called number names the tenant. The answer is TwiML that opens a
 * bidirectional media stream (`<Connect><Stream>`) to this service, carrying
 * the tenant and caller as stream parameters. A number of no tenant is
 * rejected; a full or draining process asks the caller to call back.
 */
export async function twilioRoutes(
  app: FastifyInstance,
  options: TwilioRouteOptions,
): Promise<void> {
  await app.register(formbody);
  const { VoiceResponse } = twilio.twiml;
  app.post(
    TWILIO_INCOMING_PATH,
    {
      schema: {
        tags: ['voice'],
        summary: "Twilio's webhook for an incoming call: TwiML opening a media stream",
        description: 'Signed by Twilio (`X-Twilio-Signature`, 403 otherwise).',
        consumes: ['application/x-www-form-urlencoded'],
        headers: z.object({ 'x-twilio-signature': z.string() }),
        body: incomingCall,
        response: { 200: { content: { 'text/xml': { schema: z.string() } } } },
      },
    },
    async (request, reply) => {
      const params = (request.body ?? {}) as Record<string, string>;
      const signature = request.headers['x-twilio-signature'];
      const url = `${options.publicUrl}${TWILIO_INCOMING_PATH}`;
      if (
        typeof signature !== 'string' ||
        !twilio.validateRequest(options.authToken, signature, url, params)
      ) {
        request.log.warn({ ip: request.ip }, 'Twilio webhook with a bad signature refused');
        throw voiceError('VOICE_ERR_BAD_SIGNATURE', 'Invalid Twilio signature');
      }
      const response = new VoiceResponse();
      const tenantId = await options.tenantOf(String(params.To ?? ''));
      if (!tenantId) {
        response.reject();
      } else if (options.calls.refusal()) {
        response.say('Sorry, all our lines are busy. Please call again in a few minutes.');
        response.hangup();
      } else {
        const stream = response.connect().stream({
          url: `${options.publicUrl.replace(/^http/, 'ws')}${TWILIO_STREAM_PATH}`,
        });
        const from = params.From ? String(params.From) : null;
        const callSid = String(params.CallSid ?? '');
        stream.parameter({ name: 'tenant', value: tenantId });
        if (from) stream.parameter({ name: 'from', value: from });
        stream.parameter({
          name: 'token',
          value: streamToken(options.authToken, { callSid, tenantId, from }),
        });
      }
      return reply.type('text/xml').send(response.toString());
    },
  );
}
