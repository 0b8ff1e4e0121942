import { FRAME_BYTES, FRAME_MS } from '../domain/codec.js';

/** Frames sent ahead of real time, so network jitter does not starve the caller's playback. */
const LEAD_FRAMES = 3;

interface Segment {
  frames: Uint8Array[];
  /** Frames of it sent so far. */
  sent: number;
  /** When its last frame will have played (set once all are sent). */
  endsAt: number | null;
  done(played: boolean): void;
}

/**
 * One call's outgoing audio, paced in real time: 20 ms mu-law frames go out
 * as they are due (plus a small lead), so that `clear` stops the caller's
 * audio at once and the rest of a reply is never sent. One shared ticker
 * drives every call of the process.
 */
export class PacedPlayback {
  private readonly segments: Segment[] = [];
  /** Time origin of the current run of audio, and frames sent in it. */
  private origin = 0;
  private sentInRun = 0;

  constructor(
    private readonly send: (frame: Uint8Array) => void,
    private readonly ticker: Ticker,
    /** Called once a segment's last frame is sent (Twilio: a `mark` after its audio). */
    private readonly sentAll: () => void = () => undefined,
  ) {}

  /** Queues mu-law audio; resolves true once it has played, false if cleared first. */
  play(mulaw: Uint8Array): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < mulaw.length; i += FRAME_BYTES) {
        const frame = new Uint8Array(FRAME_BYTES).fill(0xff);
        frame.set(mulaw.subarray(i, i + FRAME_BYTES));
        frames.push(frame);
      }
      if (this.segments.length === 0) {
        this.origin = Date.now();
        this.sentInRun = 0;
      }
      this.segments.push({ frames, sent: 0, endsAt: null, done: resolve });
      this.ticker.add(this);
      this.tick(Date.now());
    });
  }

  /** Drops everything not yet sent; pending plays resolve false. */
  clear(): void {
    for (const segment of this.segments.splice(0)) segment.done(false);
    this.ticker.remove(this);
  }

  get active(): boolean {
    return this.segments.length > 0;
  }

  /** Sends the frames now due; resolves segments that have played. */
  tick(now: number): void {
    const due = Math.floor((now - this.origin) / FRAME_MS) + LEAD_FRAMES;
    for (const segment of this.segments) {
      while (segment.sent < segment.frames.length && this.sentInRun < due) {
        this.send(segment.frames[segment.sent++]!);
        this.sentInRun++;
      }
      if (segment.sent < segment.frames.length) break;
      if (segment.endsAt === null) {
        segment.endsAt = this.origin + this.sentInRun * FRAME_MS;
        this.sentAll();
      }
    }
    while (this.segments[0]?.endsAt != null && this.segments[0].endsAt <= now)
      this.segments.shift()!.done(true);
    if (this.segments.length === 0) this.ticker.remove(this);
  }
}

/** One 20 ms timer for every playback of the process (not one per call). */
export class Ticker {
  private readonly players = new Set<PacedPlayback>();
  private timer: NodeJS.Timeout | undefined;

  add(player: PacedPlayback): void {
    this.players.add(player);
    this.timer ??= setInterval(() => {
      const now = Date.now();
      for (const p of this.players) p.tick(now);
    }, FRAME_MS / 2);
  }

  remove(player: PacedPlayback): void {
    this.players.delete(player);
    if (this.players.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
