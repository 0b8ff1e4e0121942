import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeTwilioCall,
  TEST_AUTH_TOKEN,
  infraEnv,
  TEST_PUBLIC_URL,
  serviceEnv,
  startServiceProcess,
  twilioIncoming as incoming,
  type ServiceProcess,
} from '@parley/testing';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import { FRAME_BYTES } from '../src/domain/codec.js';

/**
 * The voice service's telephony edge as Twilio sees it, on real Kafka and
 * Redis: the signed incoming-call webhook answered with TwiML that opens a
 * media stream, and the Media Streams WebSocket protocol (connected, start,
 * media, dtmf, mark, stop), with `concurrent_calls` and the drain on SIGTERM.
 */
const entry = new URL('../dist/main.js', import.meta.url).pathname;
const ADMIN = 'operator-token-0123456789abcdef';
const run = randomUUID().slice(0, 8);
const tenantA = `numbers-a-${run}`;
const tenantB = `numbers-b-${run}`;
// Numbers of this run only (the table outlives test runs).
const numberOf = (i: number) =>
  `+1555${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}${i}`;
const n1 = numberOf(1);
const n2 = numberOf(2);
let voice: ServiceProcess;

const env = () => ({
  ...serviceEnv({ isolate: randomUUID().slice(0, 8) }),
  TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
  VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
  VOICE_NUMBERS: '+15550100=acme',
  // Recognition is not used here; an address is needed to start.
  VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
  SHUTDOWN_DEADLINE_MS: '10000',
  PARLEY_ADMIN_TOKEN: ADMIN,
});
beforeAll(async () => {
  const db = new PgDatabase({ primaryUrl: infraEnv().pgPrimaryUrl });
  await migrate(db);
  const store = new ConversationStore(db);
  for (const id of [tenantA, tenantB])
    await store.upsertTenant({ id, name: id, widgetKey: `pk_${id}`, allowedOrigins: [] });
  await db.close();
  voice = await startServiceProcess(entry, { env: env(), startTimeoutMs: 60_000 });
}, 90_000);
afterAll(() => voice?.stop('SIGTERM'));

const openCall = (base: string) =>
  FakeTwilioCall.place(base, { to: '+15550100', from: '+15557654321' });

async function concurrentCalls(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^concurrent_calls\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe("Twilio's incoming-call webhook", () => {
  it('answers a signed call to a tenant number with a media stream carrying the tenant and caller', async () => {
    const { status, text } = await incoming(voice.baseUrl, {
      CallSid: 'CA1',
      From: '+15557654321',
      To: '+15550100',
    });
    expect(status).toBe(200);
    expect(text).toContain(
      '<Connect><Stream url="wss://voice.parley.test/v1/voice/twilio/stream">',
    );
    expect(text).toContain('<Parameter name="tenant" value="acme"/>');
    expect(text).toContain('<Parameter name="from" value="+15557654321"/>');
    expect(text).toMatch(/<Parameter name="token" value="[\w-]{43}"\/>/);
  });

  it('refuses a forged or unsigned webhook, and rejects a number of no tenant', async () => {
    const forged = await incoming(
      voice.baseUrl,
      { CallSid: 'CA2', To: '+15550100' },
      'bm90LXZhbGlk',
    );
    expect(forged.status).toBe(403);
    const unknown = await incoming(voice.baseUrl, { CallSid: 'CA3', To: '+15550199' });
    expect(unknown.text).toContain('<Reject/>');
  });
});

describe("the tenants' phone numbers (operators' API)", () => {
  const admin = (path: string, method = 'GET', token = ADMIN) =>
    fetch(`${voice.baseUrl}/admin/tenants/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });

  it('attaches a number to a tenant, rings it through, and detaches it', async () => {
    expect((await admin(`${tenantA}/phone-numbers/${n1}`, 'PUT')).status).toBe(201);
    expect((await admin(`${tenantA}/phone-numbers/${n1}`, 'PUT')).status).toBe(200);
    expect(await (await admin(`${tenantA}/phone-numbers`)).json()).toMatchObject({
      numbers: [{ number: n1 }],
    });
    const answered = await incoming(voice.baseUrl, {
      CallSid: 'CA10',
      To: n1,
      From: '+15557654321',
    });
    expect(answered.text).toContain(`<Parameter name="tenant" value="${tenantA}"/>`);
    expect((await admin(`${tenantA}/phone-numbers/${n1}`, 'DELETE')).status).toBe(204);
    expect((await admin(`${tenantA}/phone-numbers`).then((r) => r.json())) as unknown).toEqual({
      numbers: [],
    });
  });

  it("keeps tenants apart: one tenant's number cannot be taken, listed or detached by another", async () => {
    expect((await admin(`${tenantA}/phone-numbers/${n2}`, 'PUT')).status).toBe(201);
    const taken = await admin(`${tenantB}/phone-numbers/${n2}`, 'PUT');
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({ code: 'VOICE_ERR_NUMBER_TAKEN' });
    expect(await (await admin(`${tenantB}/phone-numbers`)).json()).toEqual({ numbers: [] });
    expect((await admin(`${tenantB}/phone-numbers/${n2}`, 'DELETE')).status).toBe(404);
    expect(
      (await admin(`${tenantA}/phone-numbers`).then((r) => r.json())) as unknown,
    ).toMatchObject({
      numbers: [{ number: n2 }],
    });
  });

  it('refuses bad numbers, unknown tenants and callers without the operator token', async () => {
    expect((await admin(`${tenantA}/phone-numbers/15550113`, 'PUT')).status).toBe(400);
    expect((await admin(`${tenantA}/phone-numbers/+0555`, 'PUT')).status).toBe(400);
    expect((await admin(`no-such-tenant-${run}/phone-numbers/+15550114`, 'PUT')).status).toBe(404);
    expect(
      (await admin(`${tenantA}/phone-numbers`, 'GET', 'wrong-token-wrong-token-wrong')).status,
    ).toBe(401);
  });
});

describe('the Media Streams protocol', () => {
  it('carries a call from start to stop, with caller audio and keys, counted in concurrent_calls', async () => {
    const call = await openCall(voice.baseUrl);
    const silence = Buffer.alloc(FRAME_BYTES, 0xff).toString('base64');
    for (let i = 0; i < 50; i++)
      call.send({
        event: 'media',
        sequenceNumber: String(i + 2),
        streamSid: call.streamSid,
        media: {
          track: 'inbound',
          chunk: String(i + 1),
          timestamp: String(i * 20),
          payload: silence,
        },
      });
    call.send({
      event: 'dtmf',
      streamSid: call.streamSid,
      sequenceNumber: '60',
      dtmf: { track: 'inbound_track', digit: '0' },
    });
    await expect.poll(() => concurrentCalls(voice.baseUrl)).toBe(1);
    call.send({
      event: 'stop',
      sequenceNumber: '61',
      streamSid: call.streamSid,
      stop: { callSid: 'x' },
    });
    expect(await call.closed).toBe(1000);
    await expect.poll(() => concurrentCalls(voice.baseUrl)).toBe(0);
  });

  it('closes a stream whose parameters the webhook did not sign (another tenant, another caller)', async () => {
    for (const forge of [
      (p: Record<string, string>) => ({ ...p, tenant: 'globex' }),
      (p: Record<string, string>) => ({ ...p, from: '+15550000000' }),
      ({ token: _token, ...p }: Record<string, string>) => p,
    ]) {
      const call = await FakeTwilioCall.place(voice.baseUrl, {
        to: '+15550100',
        from: '+15557654321',
        parameters: forge,
      });
      expect(await call.closed).toBe(1008);
    }
  });

  it('closes a stream that never starts a call', async () => {
    const ws = new WebSocket(`${voice.baseUrl.replace('http', 'ws')}/v1/voice/twilio/stream`);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    expect(await closed).toBe(1008);
  });

  it('closes a stream at once when audio, a key or a mark comes before start, and one whose message is over 64 KiB with 1009', async () => {
    const frames: Array<Record<string, unknown>> = [
      {
        event: 'media',
        sequenceNumber: '2',
        streamSid: 'MZ1',
        media: { track: 'inbound', chunk: '1', timestamp: '20', payload: 'f/8=' },
      },
      { event: 'dtmf', streamSid: 'MZ1', dtmf: { track: 'inbound_track', digit: '5' } },
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'utterance-1' } },
    ];
    for (const frame of frames) {
      const ws = new WebSocket(`${voice.baseUrl.replace('http', 'ws')}/v1/voice/twilio/stream`);
      const closed = new Promise<[number, string]>((resolve) =>
        ws.on('close', (code, reason) => resolve([code, reason.toString()])),
      );
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
      ws.send(JSON.stringify(frame));
      // Not the 5 s start deadline: refused as it arrives.
      const [code, reason] = await Promise.race([
        closed,
        new Promise<[number, string]>((r) => setTimeout(() => r([0, 'still open']), 2_000)),
      ]);
      ws.terminate();
      expect([code, reason]).toEqual([1008, `${String(frame.event)} before start`]);
    }
    const big = await openCall(voice.baseUrl);
    big.send({
      event: 'media',
      streamSid: big.streamSid,
      media: { payload: 'A'.repeat(1024 * 1024) },
    });
    expect([1009, 1006]).toContain(await big.closed);
  });

  it('closes a stream that sends something outside the protocol', async () => {
    const call = await openCall(voice.baseUrl);
    call.send({ event: 'media', streamSid: call.streamSid, media: { payload: 42 } });
    expect(await call.closed).toBe(1008);
  });

  it('on SIGTERM takes no new call and lets the active one finish before it exits', async () => {
    const draining = await startServiceProcess(entry, { env: env(), startTimeoutMs: 60_000 });
    const active = await openCall(draining.baseUrl);
    await expect.poll(() => concurrentCalls(draining.baseUrl)).toBe(1);
    const exited = draining.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    // Still carrying the call: a new one is refused meanwhile.
    const late = await openCall(draining.baseUrl).catch(() => null);
    if (late) expect(await late.closed).toBe(1013);
    active.send({ event: 'stop', sequenceNumber: '2', streamSid: active.streamSid });
    expect(await active.closed).toBe(1000);
    const { code, elapsedMs } = await exited;
    expect(code).toBe(0);
    expect(elapsedMs).toBeGreaterThanOrEqual(500);
  }, 60_000);

  it('at the drain deadline says goodbye to a call still going, and ends it before exiting', async () => {
    const draining = await startServiceProcess(entry, {
      env: { ...env(), SHUTDOWN_DEADLINE_MS: '7000' },
      startTimeoutMs: 60_000,
    });
    const active = await openCall(draining.baseUrl);
    await expect.poll(() => concurrentCalls(draining.baseUrl)).toBe(1);
    const stoppedAt = Date.now();
    const exited = draining.stop('SIGTERM');
    // The caller keeps talking past the deadline (3 s here); the service ends the call itself.
    const line = setInterval(() => active.media(new Uint8Array(160).fill(0xff)), 20);
    try {
      expect(await active.closed).toBe(1000);
    } finally {
      clearInterval(line);
    }
    expect(active.audioSince(stoppedAt + 2_500).length).toBeGreaterThan(25); // the goodbye
    const { code } = await exited;
    expect(code).toBe(0);
    expect(draining.logs.some((l) => String(l.msg).includes('drain deadline'))).toBe(true);
  }, 60_000);
});
