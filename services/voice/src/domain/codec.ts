import alawmulaw from 'alawmulaw';

/** Telephony audio: 8 kHz, 8-bit mu-law (G.711), sent in 20 ms frames of 160 bytes. */
export const SAMPLE_RATE = 8_000;
export const FRAME_MS = 20;
export const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1000;

/** mu-law bytes (as Twilio sends them, base64 decoded) to 16-bit linear PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  return alawmulaw.mulaw.decode(bytes);
}

/** 16-bit linear PCM to mu-law bytes. */
export function encodeMulaw(samples: Int16Array): Uint8Array {
  return alawmulaw.mulaw.encode(samples);
}

/** Splits mu-law audio into 20 ms frames (the last one padded with mu-law silence, 0xff). */
export function frames(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += FRAME_BYTES) {
    const frame = new Uint8Array(FRAME_BYTES).fill(0xff);
    frame.set(bytes.subarray(i, i + FRAME_BYTES));
    out.push(frame);
  }
  return out;
}
