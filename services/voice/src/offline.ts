/** The offline speech pieces, for benchmarks and tools outside this service. */
export { EspeakSynthesizer } from './adapters/espeak.js';
export { encodeMulaw, decodeMulaw, FRAME_BYTES } from './domain/codec.js';
export { toWav } from './domain/pcm.js';
export { streamToken } from './routes/twilio.route.js';
