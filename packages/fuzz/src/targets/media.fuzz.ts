import { mediaPayloadPcm, parseMediaStreamMessage } from '@parley/voice/protocol';
import { fuzzTarget, invariant } from '../harness.js';

/**
 * Twilio media-stream messages (`parseMediaStreamMessage`), and for `media`
 * messages the audio payload as the call's pipeline decodes it: one 16-bit
 * sample per mu-law byte, never more than the payload's bound allows.
 */
export const fuzz = fuzzTarget((data) => {
  const parsed = parseMediaStreamMessage(data.toString('utf8'));
  if (!parsed.ok) {
    invariant(parsed.reason.length <= 300, `a refusal of ${parsed.reason.length} characters`);
    return;
  }
  if (parsed.event.event === 'media') {
    const pcm = mediaPayloadPcm(parsed.event.media.payload);
    invariant(pcm.length <= 6_144, `${pcm.length} samples from an 8 KiB payload`);
  }
});
