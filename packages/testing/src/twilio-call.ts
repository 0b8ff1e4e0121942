import { randomUUID } from 'node:crypto';
import twilio from 'twilio';
import WebSocket from 'ws';
import alawmulaw from 'alawmulaw';

/** 20 ms of 8 kHz mu-law. */
const FRAME_BYTES = 160;
const encodeMulaw = (pcm: Int16Array): Uint8Array => alawmulaw.mulaw.encode(pcm);

/**
 * A test client that plays Twilio: it posts the signed incoming-call
 * webhook, reads the TwiML answer, opens the media stream it names and
 * speaks the Media Streams protocol, sending caller audio as real mu-law
 * frames in real time (one 20 ms frame every 20 ms).
 */
export interface TwilioMessage {
  event: string;
  at: number;
  media?: { payload: string };
  mark?: { name: string };
}

export const TEST_AUTH_TOKEN = 'twilio-auth-token-0123456789';
export const TEST_PUBLIC_URL = 'https://voice.parley.test';

/** Posts the incoming-call webhook as Twilio does: form-encoded and signed (or not). */
export async function incoming(base: string, params: Record<string, string>, signature?: string) {
  const url = `${TEST_PUBLIC_URL}/v1/voice/twilio/incoming`;
  const res = await fetch(`${base}/v1/voice/twilio/incoming`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature':
        signature ?? twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text() };
}

/** The `<Parameter>`s of a TwiML `<Stream>`. */
export function streamParameters(twiml: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g))
    params[m[1]!] = m[2]!;
  return params;
}

export class FakeTwilioCall {
  readonly received: TwilioMessage[] = [];
  readonly closed: Promise<number>;
  readonly streamSid = `MZ${randomUUID().replaceAll('-', '')}`;
  private sequence = 1;
  private chunk = 0;

  private constructor(
    private readonly ws: WebSocket,
    readonly callSid: string,
  ) {
    ws.on('message', (data) => {
      const message = { ...(JSON.parse(data.toString()) as TwilioMessage), at: Date.now() };
      this.received.push(message);
      // Twilio echoes a mark once the audio sent before it has played (here: arrived, in real time).
      if (message.event === 'mark' && message.mark) this.echoMark(message.mark.name);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  /** Places a call to `to` from `from`: the webhook, then the stream with the TwiML's parameters. */
  static async place(
    base: string,
    options: {
      to: string;
      from?: string;
      parameters?: (p: Record<string, string>) => Record<string, string>;
    },
  ): Promise<FakeTwilioCall> {
    const callSid = `CA${randomUUID().replaceAll('-', '')}`;
    const answer = await incoming(base, {
      CallSid: callSid,
      To: options.to,
      ...(options.from ? { From: options.from } : {}),
    });
    if (answer.status !== 200 || !answer.text.includes('<Stream'))
      throw new Error(`no stream in the webhook's answer: ${answer.status} ${answer.text}`);
    let parameters = streamParameters(answer.text);
    if (options.parameters) parameters = options.parameters(parameters);
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/voice/twilio/stream`);
    const call = new FakeTwilioCall(ws, callSid);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    call.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    call.send({
      event: 'start',
      sequenceNumber: String(call.sequence++),
      streamSid: call.streamSid,
      start: {
        streamSid: call.streamSid,
        callSid,
        accountSid: 'AC00000000000000000000000000000000',
        tracks: ['inbound'],
        customParameters: parameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    return call;
  }

  send(message: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Sends 8 kHz PCM as mu-law frames, one every 20 ms, as a phone line does. */
  async speak(pcm: Int16Array): Promise<void> {
    const mulaw = encodeMulaw(pcm);
    const started = Date.now();
    for (let i = 0, n = 0; i < mulaw.length; i += FRAME_BYTES, n++) {
      const frame = new Uint8Array(FRAME_BYTES).fill(0xff);
      frame.set(mulaw.subarray(i, i + FRAME_BYTES));
      this.media(frame);
      const wait = started + (n + 1) * 20 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Sends line silence (with a little hiss, as a real line has) for `ms`. */
  silence(ms: number): Promise<void> {
    const pcm = Int16Array.from({ length: (ms / 1000) * 8000 }, () =>
      Math.round((Math.random() - 0.5) * 40),
    );
    return this.speak(pcm);
  }

  /** Waits until no answer audio came for `quietMs` (the assistant finished speaking); the line keeps its noise meanwhile. */
  async untilQuiet(quietMs = 400, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const last = this.received.filter((m) => m.event === 'media').at(-1)?.at ?? 0;
      if (last > 0 && Date.now() - last > quietMs) return;
      await this.silence(100);
    }
    throw new Error('the assistant never went quiet');
  }

  media(frame: Uint8Array): void {
    this.chunk++;
    this.send({
      event: 'media',
      sequenceNumber: String(this.sequence++),
      streamSid: this.streamSid,
      media: {
        track: 'inbound',
        chunk: String(this.chunk),
        timestamp: String(this.chunk * 20),
        payload: Buffer.from(frame).toString('base64'),
      },
    });
  }

  dtmf(digit: string): void {
    this.send({
      event: 'dtmf',
      streamSid: this.streamSid,
      sequenceNumber: String(this.sequence++),
      dtmf: { track: 'inbound_track', digit },
    });
  }

  /** Acknowledges marks the way Twilio does once the audio before them has played. */
  echoMark(name: string): void {
    this.send({
      event: 'mark',
      sequenceNumber: String(this.sequence++),
      streamSid: this.streamSid,
      mark: { name },
    });
  }

  stop(): void {
    this.send({
      event: 'stop',
      sequenceNumber: String(this.sequence++),
      streamSid: this.streamSid,
      stop: { callSid: this.callSid },
    });
  }

  /** Media frames received at or after `since`. */
  audioSince(since: number): TwilioMessage[] {
    return this.received.filter((m) => m.event === 'media' && m.at >= since);
  }

  close(): void {
    this.ws.close();
  }
}
