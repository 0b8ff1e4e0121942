import { describe, expect, it } from 'vitest';
import { VoiceActivityDetector, type VadEvent } from './vad.js';

const FRAME = 160;
const tone = (amplitude: number) =>
  Int16Array.from({ length: FRAME }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * 300 * i) / 8000)),
  );
const hiss = (amplitude: number) =>
  Int16Array.from({ length: FRAME }, () => Math.round((Math.random() * 2 - 1) * amplitude));

/** Feeds frames 20 ms apart (virtual time); returns each event with its frame index. */
function feed(vad: VoiceActivityDetector, frames: Int16Array[]) {
  const events: Array<{ at: number; event: VadEvent }> = [];
  frames.forEach((frame, i) => {
    const event = vad.push(frame, i * 20);
    if (event) events.push({ at: i, event });
  });
  return events;
}

describe('voice activity detection', () => {
  it('starts after 60 ms of speech and ends after the configured silence', () => {
    const frames = [
      ...Array.from({ length: 25 }, () => hiss(30)),
      ...Array.from({ length: 50 }, () => tone(6000)),
      ...Array.from({ length: 60 }, () => hiss(30)),
    ];
    const events = feed(new VoiceActivityDetector({ endSilenceMs: 700 }), frames);
    expect(events.map((e) => [e.event.kind, e.at])).toEqual([
      ['start', 27],
      ['pause', 74 + 15], // 300 ms of quiet: the utterance so far, for speculative recognition
      ['end', 74 + 35],
    ]);
    const end = events[2]!.event as Extract<VadEvent, { kind: 'end' }>;
    expect(end.speechMs).toBe(1000);
    expect(end.lastVoiceAt).toBe(74 * 20);
    // The pre-roll keeps the frames before the start, so the first syllable is not cut.
    expect(end.frames.length).toBeGreaterThanOrEqual(50 + 35 + 10);
  });

  it('takes a click for no speech and follows a noisy line', () => {
    const frames = [
      ...Array.from({ length: 50 }, () => hiss(1500)), // a loud line: the floor rises
      tone(8000), // a 20 ms click
      ...Array.from({ length: 50 }, () => hiss(1500)),
    ];
    expect(feed(new VoiceActivityDetector(), frames)).toEqual([]);
  });

  it('ends an utterance at the longest length, and on flush', () => {
    const vad = new VoiceActivityDetector({ maxUtteranceMs: 1_000 });
    const quiet = Array.from({ length: 10 }, () => hiss(30)); // the line's noise, measured first
    const events = feed(vad, [...quiet, ...Array.from({ length: 80 }, () => tone(6000))]);
    expect(events.map((e) => e.event.kind)).toEqual(['start', 'end', 'start']); // no pause in speech
    expect(vad.flush()?.kind).toBe('end');
    expect(vad.flush()).toBeNull();
  });
});
