import { env, serviceFields, redisFields, kafkaFields, type ConfigOf } from '@parley/config';

/** Every environment variable the voice service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8085 }),
  ...redisFields,
  ...kafkaFields,
  /** Twilio's auth token: signs its webhooks (validated on every call). Unset: telephony is off. */
  twilioAuthToken: env.secret('TWILIO_AUTH_TOKEN', { minLength: 16, optional: true }),
  /** The address Twilio reaches this service at (signatures cover it; media streams connect to it). */
  publicUrl: env.url('VOICE_PUBLIC_URL', { protocols: ['https:', 'http:'], default: '' }),
  /** Which tenant each phone number belongs to: `+15550100=acme,+15550101=globex`. */
  numbers: env.string('VOICE_NUMBERS', { default: '' }),
  /** Calls one process takes at most (more are refused politely). */
  maxCalls: env.int('VOICE_MAX_CALLS', { min: 1, max: 10_000, default: 200 }),
};

export type Config = ConfigOf<typeof configSpec>;

/** `+15550100=acme,+15550101=globex` → number → tenant; refuses malformed entries. */
export function parseNumbers(spec: string): Map<string, string> {
  const numbers = new Map<string, string>();
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(\+[1-9]\d{6,14})=([A-Za-z0-9._:-]{1,128})$/.exec(entry);
    if (!match)
      throw new RangeError(`VOICE_NUMBERS: "${entry}" is not +<E.164 number>=<tenant id>`);
    numbers.set(match[1]!, match[2]!);
  }
  return numbers;
}
