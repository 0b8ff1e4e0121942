import { levelDbfs } from './pcm.js';

/** 200 ms at the start of a call that only measure the noise floor. */
const CALIBRATION_FRAMES = 10;

/** Settings of {@link VoiceActivityDetector}. */
export interface VadOptions {
  /** Frames above the noise floor by this much count as speech. @default 12 dB */
  marginDb?: number;
  /** Quietest level that may be speech, whatever the noise floor. @default -45 dBFS */
  minSpeechDbfs?: number;
  /** Voiced time before speech is taken as started (a click is not speech). @default 60 ms */
  startMs?: number;
  /** Silence after which an utterance has ended (end-of-utterance timing). @default 700 ms */
  endSilenceMs?: number;
  /** Silence after which the utterance so far is reported as a `pause` (speculative recognition); 0: never. @default 300 ms */
  pauseMs?: number;
  /** Audio kept from before the start, so the first syllable is not cut. @default 200 ms */
  preRollMs?: number;
  /** Longest utterance; longer ones end here. @default 30 s */
  maxUtteranceMs?: number;
  /** Frame duration of the audio pushed in. @default 20 ms */
  frameMs?: number;
}

/** What one frame changed. */
export type VadEvent =
  | {
      kind: 'start';
      /** The utterance's frames so far (pre-roll and the frames that started it). */
      frames: Int16Array[];
    }
  | {
      /** The caller went quiet: the utterance may be over (an `end` follows unless they speak on). */
      kind: 'pause';
      frames: Int16Array[];
      speechMs: number;
    }
  | {
      kind: 'end';
      /** The utterance's frames, pre-roll included. */
      frames: Int16Array[];
      /** Voiced time in it. */
      speechMs: number;
      /** When its last voiced frame arrived (the end of the caller's speech), ms since epoch. */
      lastVoiceAt: number;
    };

/**
 * Energy-based voice activity detection with an adaptive noise floor and
 * end-of-utterance timing, frame by frame (20 ms of 8 kHz PCM).
 *
 * Why not a library: the neural VADs for Node.js (Silero through
 * onnxruntime) cost more CPU per call than the whole rest of the pipeline,
 * and WebRTC's VAD has no maintained Node.js binding. Phone audio is
 * band-limited and echo-cancelled by the carrier, which an energy detector
 * with a tracked noise floor handles; recognition decides what was words.
 */
export class VoiceActivityDetector {
  private readonly options: Required<VadOptions>;
  private noiseDb = 0;
  /** Frames seen; the first ones only measure the line's noise. */
  private seen = 0;
  private voicedRun = 0;
  private silentRun = 0;
  private speaking = false;
  private speechFrames = 0;
  private lastVoiceAt = 0;
  private readonly preRoll: Int16Array[] = [];
  private utterance: Int16Array[] = [];

  constructor(options: VadOptions = {}) {
    this.options = {
      marginDb: 12,
      minSpeechDbfs: -45,
      startMs: 60,
      endSilenceMs: 700,
      pauseMs: 300,
      preRollMs: 200,
      maxUtteranceMs: 30_000,
      frameMs: 20,
      ...options,
    };
  }

  /** Whether the caller is speaking now (between `start` and `end`). */
  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Takes one frame; returns what it started or ended, if anything. */
  push(frame: Int16Array, now = Date.now()): VadEvent | null {
    const { frameMs } = this.options;
    const db = levelDbfs(frame);
    if (this.seen++ < CALIBRATION_FRAMES) {
      // The line's noise before anyone speaks (the greeting plays meanwhile).
      this.noiseDb = this.seen === 1 ? db : Math.min(this.noiseDb, db);
      return null;
    }
    const voiced = db >= Math.max(this.options.minSpeechDbfs, this.noiseDb + this.options.marginDb);
    // The floor follows quieter frames quickly and louder ones slowly (a steady hum becomes floor).
    this.noiseDb += (db - this.noiseDb) * (db < this.noiseDb ? 0.3 : voiced ? 0.002 : 0.05);

    if (!this.speaking) {
      this.preRoll.push(frame);
      const keep = Math.ceil((this.options.preRollMs + this.options.startMs) / frameMs);
      while (this.preRoll.length > keep) this.preRoll.shift();
      this.voicedRun = voiced ? this.voicedRun + 1 : 0;
      if (this.voicedRun * frameMs < this.options.startMs) return null;
      this.speaking = true;
      this.utterance = this.preRoll.splice(0);
      this.speechFrames = this.voicedRun;
      this.silentRun = 0;
      this.lastVoiceAt = now;
      return { kind: 'start', frames: [...this.utterance] };
    }

    this.utterance.push(frame);
    if (voiced) {
      this.speechFrames++;
      this.silentRun = 0;
      this.lastVoiceAt = now;
    } else this.silentRun++;
    const tooLong = this.utterance.length * frameMs >= this.options.maxUtteranceMs;
    if (this.silentRun * frameMs >= this.options.endSilenceMs || tooLong) return this.finish();
    const { pauseMs } = this.options;
    if (pauseMs > 0 && pauseMs < this.options.endSilenceMs && this.silentRun * frameMs === pauseMs)
      return { kind: 'pause', frames: [...this.utterance], speechMs: this.speechFrames * frameMs };
    return null;
  }

  /** Ends an utterance in progress now (the call ended, or the caller pressed a key). */
  flush(): VadEvent | null {
    return this.speaking ? this.finish() : null;
  }

  private finish(): VadEvent {
    const frames = this.utterance;
    const event: VadEvent = {
      kind: 'end',
      frames,
      speechMs: this.speechFrames * this.options.frameMs,
      lastVoiceAt: this.lastVoiceAt,
    };
    this.speaking = false;
    this.utterance = [];
    this.voicedRun = 0;
    this.silentRun = 0;
    this.speechFrames = 0;
    return event;
  }
}
