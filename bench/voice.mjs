// Voice: turn latency and concurrent calls with the offline pair (eSpeak NG
// synthesis, Whisper base recognition from `scripts/infra`), the voice service
// as a process with chat and AI behind it on the local infrastructure.
//
// 1. Turn latency: a caller says a question (eSpeak NG, real-time mu-law
//    frames); from their last voiced frame to the first frame of the answer,
//    p50/p99 over N turns. Baseline, same run: the offline recognizer alone on
//    the same utterance (the pipeline's largest part), plus the end-of-utterance
//    silence the detector waits for.
// 2. Concurrent calls: K calls at once, each streaming line noise at 50 frames/s
//    while its greeting plays; greeting delay and the pacing jitter of the
//    answer frames (|gap - 20 ms|), for K = 10, 25, 50, ... up to the maximum.
//    Baseline, same run: a bare `ws` server pacing the same frames with the
//    same ticker for the same K. "Held" means every call accepted, greeting
//    p99 under 2 s and jitter p99 under 40 ms (two frames).
//
//   scripts/infra up && pnpm --filter @parley/bench voice [turns=5] [maxCalls=100]
//
// Loopback only; bounded: turns <= 20, maxCalls <= 300, 5 minutes overall.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import OpenAI, { toFile } from 'openai';
import twilio from 'twilio';
import WebSocket from 'ws';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgDatabase } from '@parley/postgres';
import { infraEnv, serviceEntry, serviceEnv, startServiceProcess } from '@parley/testing';
import { EspeakSynthesizer, FRAME_BYTES, encodeMulaw, toWav } from '@parley/voice';

const args = process.argv.slice(2);
const turns = Math.min(Number(args[0] ?? 5), 20);
const maxCalls = Math.min(Number(args[1] ?? 100), 300);
const BOUND_MS = 300_000;
setTimeout(() => {
  console.error(`bench: still running after ${BOUND_MS / 1000} s; giving up`);
  process.exit(2);
}, BOUND_MS).unref();

const localStt = process.env.PARLEY_LOCAL_STT_URL;
if (!localStt)
  throw new Error('PARLEY_LOCAL_STT_URL is not set: eval "$(scripts/infra env)" first');
const AUTH = 'bench-twilio-auth-token-000';
const PUBLIC = 'https://voice.bench.test';
const NUMBER = '+15550177';
const END_SILENCE_MS = 700;
const require = createRequire(import.meta.url);
const entry = (/** @type {`@parley/${string}`} */ name) => serviceEntry(name, import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x) => `${Math.round(x)} ms`;

/** A caller as Twilio is: the signed webhook, then the media stream it names. */
async function placeCall(base, from) {
  const callSid = `CA${randomUUID().replaceAll('-', '')}`;
  const params = { CallSid: callSid, To: NUMBER, From: from };
  const url = `${PUBLIC}/v1/voice/twilio/incoming`;
  const res = await fetch(`${base}/v1/voice/twilio/incoming`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  const twiml = await res.text();
  const customParameters = Object.fromEntries(
    [...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]),
  );
  return openStream(
    `${base.replace('http', 'ws')}/v1/voice/twilio/stream`,
    callSid,
    customParameters,
  );
}

async function openStream(wsUrl, callSid, customParameters) {
  const ws = new WebSocket(wsUrl);
  const streamSid = `MZ${randomUUID().replaceAll('-', '')}`;
  const call = { ws, streamSid, media: [], closedWith: null, startedAt: 0, seq: 1 };
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.event === 'media') call.media.push(performance.now());
  });
  ws.on('close', (code) => (call.closedWith = code));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const send = (m) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
  call.send = send;
  send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  call.startedAt = performance.now();
  send({
    event: 'start',
    sequenceNumber: String(call.seq++),
    streamSid,
    start: {
      streamSid,
      callSid,
      tracks: ['inbound'],
      customParameters,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });
  call.frame = (mulaw) =>
    send({
      event: 'media',
      sequenceNumber: String(call.seq++),
      streamSid,
      media: {
        track: 'inbound',
        chunk: '1',
        timestamp: '0',
        payload: Buffer.from(mulaw).toString('base64'),
      },
    });
  return call;
}

const noise = (n) => Int16Array.from({ length: n }, () => Math.round((Math.random() - 0.5) * 40));

/** Sends PCM in real time; returns when the last voiced frame went out (performance.now()). */
async function speak(call, pcm) {
  const mulaw = encodeMulaw(pcm);
  const t0 = performance.now();
  let lastVoiced = t0;
  for (let i = 0, n = 0; i < mulaw.length; i += FRAME_BYTES, n++) {
    const frame = new Uint8Array(FRAME_BYTES).fill(0xff);
    frame.set(mulaw.subarray(i, i + FRAME_BYTES));
    call.frame(frame);
    let energy = 0;
    for (let j = i; j < Math.min(i + FRAME_BYTES, pcm.length); j++) energy += pcm[j] * pcm[j];
    if (Math.sqrt(energy / FRAME_BYTES) > 300) lastVoiced = performance.now();
    const wait = t0 + (n + 1) * 20 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return lastVoiced;
}

async function untilQuiet(call, quietMs = 500, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const last = call.media.at(-1) ?? 0;
    if (last > 0 && performance.now() - last > quietMs) return;
    await speak(call, noise(800)); // the line keeps carrying noise meanwhile
  }
  throw new Error('the assistant never went quiet');
}

/** CPU time (user + system, ms) of a process, from /proc. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/** K calls at once, each streaming noise for holdMs; greeting delay and frame pacing jitter. */
async function loadStep(open, k, pid, holdMs = 6_000) {
  const cpu0 = cpuMs(pid);
  const calls = [];
  for (let i = 0; i < k; i++) {
    calls.push(await open(i));
    if (i % 10 === 9) await sleep(5);
  }
  const silence = encodeMulaw(noise(FRAME_BYTES));
  const t0 = performance.now();
  for (let n = 0; performance.now() - t0 < holdMs; n++) {
    for (const c of calls) c.frame(silence);
    const wait = t0 + (n + 1) * 20 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const cpu = cpuMs(pid) - cpu0;
  const rss = rssMiB(pid);
  const greeting = [];
  const jitter = [];
  let refused = 0;
  for (const c of calls) {
    if (c.closedWith && c.closedWith !== 1000) refused++;
    if (c.media.length === 0) continue;
    greeting.push(c.media[0] - c.startedAt);
    // After the lead (3 frames at once), frames should arrive every 20 ms.
    for (let i = 5; i < c.media.length; i++)
      jitter.push(Math.abs(c.media[i] - c.media[i - 1] - 20));
  }
  for (const c of calls) c.ws.close();
  await sleep(500);
  return {
    k,
    refused,
    greeted: greeting.length,
    greetingP50: pct(greeting, 50),
    greetingP99: pct(greeting, 99),
    jitterP50: pct(jitter, 50),
    jitterP99: pct(jitter, 99),
    cpuPerCallSecond: cpu / (k * (holdMs / 1000)),
    rss,
  };
}

/** The baseline: a bare ws server that paces 3 s of frames per call with one shared ticker, like ours. */
const BASELINE = `
const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
const players = new Set();
setInterval(() => {
  const now = Date.now();
  for (const p of players) {
    const due = Math.floor((now - p.origin) / 20) + 3;
    while (p.sent < due && p.sent < 150) {
      p.ws.send(JSON.stringify({ event: 'media', streamSid: p.sid, media: { payload: p.payload } }));
      p.sent++;
    }
    if (p.sent >= 150) players.delete(p);
  }
}, 10);
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.event === 'start') players.add({ ws, sid: m.streamSid, origin: Date.now(), sent: 0, payload: Buffer.alloc(160, 0xff).toString('base64') });
  });
  ws.on('close', () => { for (const p of players) if (p.ws === ws) players.delete(p); });
});
wss.on('listening', () => console.log(wss.address().port));
`;

async function main() {
  const infra = infraEnv();
  const db = new PgDatabase({ primaryUrl: infra.pgPrimaryUrl });
  await migrate(db);
  const run = randomUUID().slice(0, 8);
  const tenantId = `voice-bench-${run}`;
  await new ConversationStore(db).upsertTenant({
    id: tenantId,
    name: tenantId,
    widgetKey: `pk_${tenantId}`,
    allowedOrigins: [],
  });
  const env = serviceEnv({ isolate: run });
  const procs = await Promise.all(
    ['@parley/chat', '@parley/ai'].map((s) =>
      startServiceProcess(entry(s), { env, startTimeoutMs: 60_000 }),
    ),
  );
  const voice = await startServiceProcess(entry('@parley/voice'), {
    env: {
      ...env,
      TWILIO_AUTH_TOKEN: AUTH,
      VOICE_PUBLIC_URL: PUBLIC,
      VOICE_NUMBERS: `${NUMBER}=${tenantId}`,
      VOICE_LOCAL_STT_URL: localStt,
      VOICE_END_SILENCE_MS: String(END_SILENCE_MS),
      VOICE_MAX_CALLS: String(maxCalls),
    },
    startTimeoutMs: 60_000,
  });
  procs.push(voice);
  const espeak = new EspeakSynthesizer({ threads: 1 });
  try {
    const question = await espeak.synthesize('How long is the warranty on the blender?', {
      language: 'en',
      signal: AbortSignal.timeout(10_000),
    });

    // Baseline 1: the offline recognizer alone on the same utterance.
    const stt = new OpenAI({ apiKey: 'local', baseURL: localStt, maxRetries: 0 });
    const sttMs = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await stt.audio.transcriptions.create({
        file: await toFile(toWav(question), 'q.wav'),
        model: 'whisper-base',
        language: 'en',
      });
      sttMs.push(performance.now() - t);
    }

    // 1. Turn latency over one call.
    const call = await placeCall(voice.baseUrl, '+15557000001');
    await untilQuiet(call);
    const turnMs = [];
    for (let i = 0; i < turns; i++) {
      const lastVoiced = await speak(call, question);
      const before = call.media.length;
      const deadline = performance.now() + 30_000;
      while (call.media.length === before && performance.now() < deadline)
        await speak(call, noise(160));
      if (call.media.length === before) throw new Error('no answer audio');
      turnMs.push(call.media[before] - lastVoiced);
      await untilQuiet(call);
    }
    call.ws.close();
    const floor = END_SILENCE_MS + pct(sttMs, 50);
    console.log(`\nturn latency over ${turns} turns (offline pair, chat + offline AI behind):`);
    console.log(
      `  end of speech -> first answer frame: p50 ${ms(pct(turnMs, 50))}, p99 ${ms(pct(turnMs, 99))}`,
    );
    console.log(
      `  baseline, the recognizer alone on the same utterance: p50 ${ms(pct(sttMs, 50))}`,
    );
    console.log(
      `  ratio to the recognizer alone: ${(pct(turnMs, 50) / pct(sttMs, 50)).toFixed(2)}`,
    );
    console.log(
      `  ratio to end-of-utterance silence + recognizer (${ms(floor)}): ${(pct(turnMs, 50) / floor).toFixed(2)}`,
    );

    // 2. Concurrent calls, against the bare ws pacer.
    const baseline = spawn(process.execPath, ['-e', BASELINE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise((resolve) =>
      baseline.stdout.once('data', (d) => resolve(Number(d.toString().trim()))),
    );
    const steps = [10, 25, 50, 100, 150, 200, 300].filter((k) => k <= maxCalls);
    console.log(
      '\nconcurrent calls (each streaming 50 frames/s for 6 s while its greeting plays):',
    );
    console.log(
      '  K    | voice: refused greeting p50/p99   jitter p50/p99  CPU/call-s  RSS    | bare ws: jitter p50/p99  CPU/call-s | jitter ratio',
    );
    let held = 0;
    for (const k of steps) {
      const v = await loadStep(
        (i) => placeCall(voice.baseUrl, `+1555800${String(i).padStart(4, '0')}`),
        k,
        voice.child.pid,
      );
      const b = await loadStep(
        (i) => openStream(`ws://127.0.0.1:${port}`, `CAb${i}`, {}),
        k,
        baseline.pid,
      );
      const ok = v.refused === 0 && v.greeted === k && v.greetingP99 < 2_000 && v.jitterP99 < 40;
      if (ok) held = k;
      console.log(
        `  ${String(k).padEnd(4)} | ${String(v.refused).padStart(7)} ${ms(v.greetingP50).padStart(8)} / ${ms(v.greetingP99).padEnd(8)} ${v.jitterP50.toFixed(1)} / ${v.jitterP99.toFixed(1)} ms   ${v.cpuPerCallSecond.toFixed(2)} ms   ${Math.round(v.rss)} MiB | ${b.jitterP50.toFixed(1)} / ${b.jitterP99.toFixed(1)} ms       ${b.cpuPerCallSecond.toFixed(2)} ms | ${(v.jitterP99 / Math.max(b.jitterP99, 0.1)).toFixed(2)}${ok ? '' : '  (not held)'}`,
      );
      if (!ok) break;
    }
    baseline.kill();
    console.log(
      `\ncalls held by one voice process: ${held} (of the steps tried, up to ${maxCalls})`,
    );
  } finally {
    await espeak.close();
    await Promise.all(procs.map((p) => p.stop('SIGTERM').catch(() => undefined)));
    await db.close();
  }
}

await main();
process.exit(0);
