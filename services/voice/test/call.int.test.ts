import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import {
  FakeTwilioCall,
  TEST_AUTH_TOKEN,
  TEST_PUBLIC_URL,
  infraEnv,
  serviceEntry,
  serviceEnv,
  startServiceProcess,
  type ServiceProcess,
} from '@parley/testing';
import { EspeakSynthesizer } from '../src/adapters/espeak.js';

/**
 * A phone call end to end, on real Kafka, Postgres and Redis with the chat,
 * AI, HITL and voice services as processes. The test plays Twilio: it
 * speaks eSpeak NG's "I need to reset my password" as mu-law frames in real
 * time. OpenAI is a local server speaking its wire protocol whose
 * transcription endpoint fails, so recognition fails over to the offline
 * recognizer (Whisper base, `scripts/infra`); its speech endpoint answers.
 */
const run = randomUUID().slice(0, 8);
const tenantId = `voice-${run}`;
const number = '+15550142';
const caller = '+15557654321';
const entry = (name: `@parley/${string}`) => serviceEntry(name, import.meta.url);
const localStt = process.env.PARLEY_LOCAL_STT_URL;
let db: PgDatabase;
let voice: ServiceProcess;
const procs: ServiceProcess[] = [];
const openai = { transcriptions: 0, speech: 0, server: undefined as Server | undefined, url: '' };
const espeak = new EspeakSynthesizer({ threads: 1 });

/** OpenAI's audio endpoints: transcription fails (503), speech answers 24 kHz PCM, 60 ms per character. */
async function fakeOpenAi(): Promise<void> {
  openai.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== 'Bearer sk-test-voice') {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"error":{"message":"bad key"}}');
        return;
      }
      if (req.url === '/v1/audio/transcriptions') {
        openai.transcriptions++;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
        return;
      }
      if (req.url === '/v1/audio/speech') {
        openai.speech++;
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          input: string;
          response_format: string;
        };
        if (body.response_format !== 'pcm') return void res.writeHead(400).end();
        const samples = Math.round(body.input.length * 0.06 * 24_000);
        const pcm = Buffer.alloc(samples * 2);
        for (let i = 0; i < samples; i++)
          pcm.writeInt16LE(Math.round(5000 * Math.sin((2 * Math.PI * 220 * i) / 24_000)), i * 2);
        res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => openai.server!.listen(0, '127.0.0.1', resolve));
  openai.url = `http://127.0.0.1:${(openai.server!.address() as AddressInfo).port}/v1`;
}

beforeAll(async () => {
  if (!localStt)
    throw new Error('PARLEY_LOCAL_STT_URL is not set: run through scripts/test (scripts/infra up)');
  const infra = infraEnv();
  db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl });
  await migrate(db);
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [],
  });
  await fakeOpenAi();
  const env = serviceEnv({ isolate: run });
  procs.push(
    ...(await Promise.all(
      (['@parley/chat', '@parley/ai', '@parley/hitl'] as const).map((s) =>
        startServiceProcess(entry(s), { env, startTimeoutMs: 60_000 }),
      ),
    )),
  );
  voice = await startServiceProcess(new URL('../dist/main.js', import.meta.url).pathname, {
    env: {
      ...env,
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
      VOICE_NUMBERS: `${number}=${tenantId}`,
      OPENAI_API_KEY: 'sk-test-voice',
      OPENAI_BASE_URL: openai.url,
      VOICE_LOCAL_STT_URL: localStt,
      VOICE_STT_TIMEOUT_MS: '15000',
    },
    startTimeoutMs: 60_000,
  });
  procs.push(voice);
}, 180_000);
afterAll(async () => {
  if (process.env.VOICE_TEST_LOGS)
    console.log(
      voice?.logs
        .filter((l) => l.component !== 'media-stream')
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
  await Promise.all(procs.map((p) => p.stop('SIGTERM').catch(() => undefined)));
  openai.server?.close();
  await espeak.close();
  await db?.close();
});

const say = async (text: string) =>
  espeak.synthesize(text, { language: 'en', signal: new AbortController().signal });

/** The tenant's newest conversation (each call is one). */
async function conversation() {
  const rows = await db.read<{ id: string; channel: string }>(
    'select id, channel from conversations where tenant_id = $1 order by created_at desc limit 1',
    [tenantId],
    'primary',
  );
  return rows[0];
}

async function messages(conversationId: string) {
  const rows = await db.read<{ role: string; text: string }>(
    'select role, text from messages where tenant_id = $1 and conversation_id = $2 order by seq',
    [tenantId, conversationId],
    'primary',
  );
  return rows;
}

async function metric(name: RegExp): Promise<number> {
  const text = await (await fetch(`${voice.baseUrl}/metrics`)).text();
  return Number(name.exec(text)?.[1] ?? 0);
}

describe('a phone call to the assistant', () => {
  it('hears the caller, answers in paced audio, stops when talked over, and hands over on 0', async () => {
    const call = await FakeTwilioCall.place(voice.baseUrl, { to: number, from: caller });
    const password = await say('I need to reset my password.');
    // The greeting plays; the line is quiet meanwhile.
    await call.silence(300);
    await call.untilQuiet();
    expect(call.received.filter((m) => m.event === 'mark').length).toBeGreaterThan(0);

    // The caller speaks, in real time; the words reach the conversation.
    await call.speak(password);
    const spokeAt = Date.now();
    await call.silence(1_000);
    await expect
      .poll(
        async () => {
          const c = await conversation();
          return c
            ? (await messages(c.id)).filter((m) => m.role === 'user').map((m) => m.text)
            : [];
        },
        { timeout: 30_000, interval: 250 },
      )
      .toEqual([expect.stringMatching(/password/i)]);
    const conv = (await conversation())!;
    expect(conv.channel).toBe('voice');
    // Recognition failed over from OpenAI (503) to the offline recognizer.
    expect(openai.transcriptions).toBeGreaterThanOrEqual(1);
    expect(
      await metric(/voice_provider_failovers_total\{kind="stt"[^}]*\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);

    // The answer comes back as audio, in 20 ms frames, while the line stays open.
    await expect
      .poll(() => call.audioSince(spokeAt).length, { timeout: 30_000 })
      .toBeGreaterThan(10);
    const frames = call.audioSince(spokeAt);
    expect(frames.every((f) => Buffer.from(f.media!.payload, 'base64').length === 160)).toBe(true);
    expect(openai.speech).toBeGreaterThan(0);
    await expect
      .poll(async () => (await messages(conv.id)).map((m) => m.role), { timeout: 10_000 })
      .toContain('assistant');

    // Barge-in: the caller talks over the answer; `clear` comes within 300 ms.
    const holdOn = await say('Hold on, please.');
    const bargedAt = Date.now();
    const speaking = call.speak(holdOn);
    await expect
      .poll(() => call.received.some((m) => m.event === 'clear' && m.at >= bargedAt), {
        timeout: 2_000,
        interval: 10,
      })
      .toBe(true);
    const clearedAt = call.received.find((m) => m.event === 'clear' && m.at >= bargedAt)!.at;
    expect(clearedAt - bargedAt).toBeLessThan(300);
    await speaking;
    await call.silence(1_000);
    await expect
      .poll(async () => (await messages(conv.id)).filter((m) => m.role === 'user').length, {
        timeout: 30_000,
      })
      .toBe(2);
    // Counted once: `turn`, or `deadline` when recognition took longer than the 1.8 s resume deadline.
    expect(
      ((await metric(/voice_barge_ins_total\{outcome="turn"[^}]*\} (\d+)/)) || 0) +
        ((await metric(/voice_barge_ins_total\{outcome="deadline"[^}]*\} (\d+)/)) || 0),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric(/voice_turn_latency_seconds_count\{[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(
      1,
    );
    call.stop();
    expect(await call.closed).toBe(1000);
  }, 120_000);

  it('hands the caller to a person on 0, and books a callback to their number when nobody is free', async () => {
    const before = (await conversation())?.id;
    const call = await FakeTwilioCall.place(voice.baseUrl, { to: number, from: '+15557650000' });
    await call.silence(300);
    await call.untilQuiet();
    call.dtmf('0');
    await expect.poll(async () => (await conversation())?.id, { timeout: 20_000 }).not.toBe(before);
    const conv = (await conversation())!;
    await expect
      .poll(
        async () => {
          const rows = await db.read<{ reason: string }>(
            'select reason from handoffs where tenant_id = $1 and conversation_id = $2',
            [tenantId, conv.id],
            'primary',
          );
          return rows.map((r) => r.reason);
        },
        { timeout: 20_000 },
      )
      .toEqual(['user_request']);
    await expect
      .poll(
        async () => {
          const rows = await db.read<{ contact: string }>(
            'select contact from callbacks where tenant_id = $1 and conversation_id = $2',
            [tenantId, conv.id],
            'primary',
          );
          return rows.map((r) => r.contact);
        },
        { timeout: 20_000 },
      )
      .toEqual(['+15557650000']);
    // The caller hears that the callback is booked; then the call ends politely.
    expect(await call.closed).toBe(1000);
  }, 90_000);
});
