import wavefile from 'wavefile';

const { WaveFile } = wavefile;

/** Telephone-band linear audio as the pipeline passes it around: 16-bit samples at 8 kHz. */
export const PCM_RATE = 8_000;

/** 16-bit mono PCM in a WAV container (what the transcription APIs take). */
export function toWav(samples: Int16Array, rate = PCM_RATE): Uint8Array {
  const wav = new WaveFile();
  wav.fromScratch(1, rate, '16', samples);
  return wav.toBuffer();
}

/**
 * A WAV file (any rate, 16-bit mono) to 8 kHz PCM, band-limited before
 * decimation so that speech above 4 kHz does not fold into the band.
 */
export function fromWav(bytes: Uint8Array): Int16Array {
  const wav = new WaveFile(bytes);
  return resampleWav(wav);
}

/** Raw little-endian 16-bit mono PCM at `rate` to 8 kHz PCM. */
export function fromRawPcm(bytes: Uint8Array, rate: number): Int16Array {
  const samples = new Int16Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)),
  );
  if (rate === PCM_RATE) return samples;
  const wav = new WaveFile();
  wav.fromScratch(1, rate, '16', samples);
  return resampleWav(wav);
}

function resampleWav(wav: InstanceType<typeof WaveFile>): Int16Array {
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  if (fmt.numChannels !== 1) throw new RangeError('only mono audio is supported');
  if (fmt.sampleRate !== PCM_RATE) wav.toSampleRate(PCM_RATE, { method: 'cubic', LPF: true });
  if (wav.bitDepth !== '16') wav.toBitDepth('16');
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

/** Root-mean-square level of a frame, in dBFS (-100 for digital silence). */
export function levelDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -100;
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / samples.length) / 32_768;
  return rms > 0 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
}

/** Joins PCM chunks. */
export function concat(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
