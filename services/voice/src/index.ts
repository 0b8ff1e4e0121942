/**
 * Phone calls as a module: mount {@link voiceModule} on an app whose
 * `app.ports` an infrastructure plugin provided, with {@link voiceFields}.
 * The offline synthesizer and the codecs are exported for tests and
 * benchmarks. `@parley/voice`; the media-stream parsers, without the server,
 * are `@parley/voice/protocol`.
 */
export { voiceModule, TWILIO_STREAM_PATH, type Voice, type VoiceModuleOptions } from './module.js';
export { voiceFields, type VoiceSettings } from './config.js';
export { VoiceErrors, type VoiceErrorCode } from './errors.js';
export { EspeakSynthesizer } from './adapters/espeak.js';
export { encodeMulaw, decodeMulaw, FRAME_BYTES } from './domain/codec.js';
export { toWav } from './domain/pcm.js';
export { streamToken } from './routes/twilio.route.js';
