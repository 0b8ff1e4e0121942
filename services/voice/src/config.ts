import {
  env,
  adminFields,
  serviceFields,
  redisFields,
  kafkaFields,
  postgresFields,
  type ConfigOf,
} from '@parley/config';

/** The voice settings, shared by the service and the embedded mode. */
export const voiceFields = {
  /** Twilio's auth token: signs its webhooks (validated on every call). Unset: telephony is off. */
  twilioAuthToken: env.secret('TWILIO_AUTH_TOKEN', { minLength: 16, optional: true }),
  /** The address Twilio reaches this service at (signatures cover it; media streams connect to it). */
  publicUrl: env.url('VOICE_PUBLIC_URL', { protocols: ['https:', 'http:'], default: '' }),
  /**
   * Development only: accept an `http://` VOICE_PUBLIC_URL (its media stream is then `ws://`).
   * Twilio itself calls only https:// webhooks and wss:// streams, so a real number needs https.
   */
  allowHttpPublicUrl: env.bool('VOICE_ALLOW_HTTP_PUBLIC_URL', { default: false }),
  /** Numbers fixed by configuration, `+15550100=acme,+15550101=globex`; others come from Postgres (admin API). */
  numbers: env.string('VOICE_NUMBERS', { default: '' }),
  /** Calls one process takes at most (more are refused politely). */
  maxCalls: env.int('VOICE_MAX_CALLS', { min: 1, max: 10_000, default: 200 }),

  /** The calls' language (ISO 639-1): recognition, synthesis and the conversation's language. */
  language: env.string('VOICE_LANGUAGE', { default: 'en' }),
  /** What the assistant says when it picks up. */
  greeting: env.string('VOICE_GREETING', {
    default: 'Hello, thanks for calling. How can I help you today?',
  }),
  /** Names and terms callers are likely to say, as a recognition hint (comma-separated). */
  recognitionHints: env.string('VOICE_RECOGNITION_HINTS', { default: '' }),
  /** Silence that ends the caller's turn (end-of-utterance timing). */
  endSilenceMs: env.int('VOICE_END_SILENCE_MS', { min: 200, max: 5_000, default: 700 }),
  /** A pause this long starts recognition early (used if the turn ends there); 0: wait for the end. */
  speculateAfterMs: env.int('VOICE_SPECULATE_AFTER_MS', { min: 0, max: 5_000, default: 300 }),
  /** Caller silence before "are you still there?" (twice, then a polite goodbye). */
  noInputMs: env.int('VOICE_NO_INPUT_MS', { min: 2_000, max: 120_000, default: 10_000 }),
  /** Longest one recognition or synthesis request may take before the standby provider gets it. */
  sttTimeoutMs: env.int('VOICE_STT_TIMEOUT_MS', { min: 500, max: 60_000, default: 5_000 }),
  ttsTimeoutMs: env.int('VOICE_TTS_TIMEOUT_MS', { min: 500, max: 60_000, default: 5_000 }),

  /** OpenAI: speech recognition and synthesis (first choice when set). */
  openaiApiKey: env.secret('OPENAI_API_KEY', { minLength: 8, optional: true }),
  openaiBaseUrl: env.string('OPENAI_BASE_URL', { default: '' }),
  openaiSttModel: env.string('VOICE_OPENAI_STT_MODEL', { default: 'gpt-4o-mini-transcribe' }),
  openaiTtsModel: env.string('VOICE_OPENAI_TTS_MODEL', { default: 'gpt-4o-mini-tts' }),
  openaiVoice: env.string('VOICE_OPENAI_VOICE', { default: 'alloy' }),
  /** Deepgram: the second provider for both. */
  deepgramApiKey: env.secret('DEEPGRAM_API_KEY', { minLength: 8, optional: true }),
  deepgramBaseUrl: env.string('DEEPGRAM_BASE_URL', { default: '' }),
  deepgramSttModel: env.string('VOICE_DEEPGRAM_STT_MODEL', { default: 'nova-3' }),
  deepgramTtsModel: env.string('VOICE_DEEPGRAM_TTS_MODEL', { default: 'aura-2-thalia-en' }),
  /** The offline recognizer (services/voice/local-stt: Whisper base, OpenAI's wire protocol). */
  localSttUrl: env.url('VOICE_LOCAL_STT_URL', { protocols: ['http:', 'https:'], default: '' }),
  localSttKey: env.secret('VOICE_LOCAL_STT_KEY', { minLength: 8, optional: true }),
  /** eSpeak NG worker threads (the offline synthesizer, always the last resort). */
  espeakThreads: env.int('VOICE_ESPEAK_THREADS', { min: 1, max: 16, default: 1 }),

  /**
   * Keep this pod's controller.kubernetes.io/pod-deletion-cost at its number of
   * calls, so a scale-down removes the pods with fewest calls first (Kubernetes:
   * POD_NAME, POD_NAMESPACE and a role that may patch pods; the chart's
   * services.voice.dynamicDeletionCost).
   */
  podDeletionCost: env.bool('VOICE_POD_DELETION_COST', { default: false }),
  /** This pod's name and namespace (the downward API). */
  podName: env.string('POD_NAME', { default: '' }),
  podNamespace: env.string('POD_NAMESPACE', { default: '' }),
  /** The API server, as Kubernetes tells every pod. */
  kubernetesHost: env.string('KUBERNETES_SERVICE_HOST', { default: '' }),
  kubernetesPort: env.port('KUBERNETES_SERVICE_PORT', { default: 443 }),
};

/** Every environment variable the voice service reads. */
export const configSpec = {
  ...serviceFields,
  port: env.port('PORT', { default: 8085 }),
  ...postgresFields,
  ...redisFields,
  ...kafkaFields,
  ...adminFields,
  ...voiceFields,
};

export type Config = ConfigOf<typeof configSpec>;
export type VoiceSettings = ConfigOf<typeof voiceFields> & {
  shutdownDeadlineMs: number;
  adminToken: string;
};

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
