import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import type { CallRegistry } from '../domain/calls.js';

/** What the Twilio webhook needs. */
export interface TwilioRouteOptions {
  /** Twilio's auth token (signs its webhooks). */
  authToken: string;
  /** Where Twilio reaches this service (the signed URL's base; streams connect to it). */
  publicUrl: string;
  /** Phone number → tenant. */
  numbers: ReadonlyMap<string, string>;
  calls: CallRegistry;
}

export const TWILIO_INCOMING_PATH = '/v1/voice/twilio/incoming';
export const TWILIO_STREAM_PATH = '/v1/voice/twilio/stream';

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
  app.post(TWILIO_INCOMING_PATH, async (request, reply) => {
    const params = (request.body ?? {}) as Record<string, string>;
    const signature = request.headers['x-twilio-signature'];
    const url = `${options.publicUrl}${TWILIO_INCOMING_PATH}`;
    if (
      typeof signature !== 'string' ||
      !twilio.validateRequest(options.authToken, signature, url, params)
    ) {
      request.log.warn({ ip: request.ip }, 'Twilio webhook with a bad signature refused');
      return reply
        .code(403)
        .send({ code: 'VOICE_ERR_BAD_SIGNATURE', message: 'Invalid Twilio signature' });
    }
    const response = new VoiceResponse();
    const tenantId = options.numbers.get(String(params.To ?? ''));
    if (!tenantId) {
      response.reject();
    } else if (options.calls.refusal()) {
      response.say('Sorry, all our lines are busy. Please call again in a few minutes.');
      response.hangup();
    } else {
      const stream = response.connect().stream({
        url: `${options.publicUrl.replace(/^http/, 'ws')}${TWILIO_STREAM_PATH}`,
      });
      stream.parameter({ name: 'tenant', value: tenantId });
      if (params.From) stream.parameter({ name: 'from', value: String(params.From) });
    }
    return reply.type('text/xml').send(response.toString());
  });
}
