// One load generator's share of the widget sessions: opens them (session over
// REST, then the socket, then `resume`) and sends user messages at scheduled
// times, an open model: arrival k is due at start + k / rate whatever the
// answers do, and its latency counts from when it was due, so a generator
// that falls behind shows as latency rather than hiding it. Runs inside a
// worker thread (load-worker.mjs); the figures are added up by load-generator.mjs.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSession, openSocket } from '@parley/testing';

/** Questions the offline FAQ answers (none asks for a person or is an emergency). */
const QUESTIONS = [
  'What are your opening hours?',
  'How do I reset my password?',
  'Where is my order?',
  'How do I get a refund?',
  'What are your prices?',
  'Who are you?',
];

/** Wall-clock ms shared by every thread (performance.now() is per thread). */
const now = () => performance.timeOrigin + performance.now();

/** Counts by key. @param {Record<string, number>} counts @param {string} key */
const bump = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

/**
 * One widget: its socket and the messages waiting for an answer.
 * Frames: `ack` (or the echo of our own message) maps a clientMessageId to its
 * seq; the assistant's `message` with `reply:<seq>` answers it.
 */
class Session {
  /** @param {import('ws').WebSocket} ws @param {(id: string, error?: string) => void} settle */
  constructor(ws, settle) {
    this.ws = ws;
    this.closed = false;
    /** @type {Map<number, string>} seq -> clientMessageId */
    this.bySeq = new Map();
    /** @type {Set<number>} replies that came before their ack */
    this.earlyReplies = new Set();
    /** @type {Set<string>} clientMessageIds waiting for an answer */
    this.pending = new Set();
    /** Settles with the first `state` frame (the resume was handled); rejects on close. */
    this.resumed = new Promise((resolve, reject) => {
      this.onState = resolve;
      this.onClose = () => reject(new Error('socket closed before state'));
    });
    this.resumed.catch(() => undefined);
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()), settle));
    ws.on('close', () => {
      this.closed = true;
      this.onClose();
      for (const id of this.pending) settle(id, 'socket closed');
      this.pending.clear();
    });
    ws.on('error', () => undefined);
  }

  onFrame(frame, settle) {
    if (frame.type === 'state') this.onState();
    else if (frame.type === 'ack' || (frame.type === 'message' && frame.role === 'user')) {
      if (!this.pending.has(frame.clientMessageId)) return;
      this.bySeq.set(frame.seq, frame.clientMessageId);
      if (this.earlyReplies.delete(frame.seq)) this.answer(frame.seq, settle);
    } else if (frame.type === 'message' && frame.role === 'assistant') {
      const seq = Number(/^reply:(\d+)$/.exec(frame.clientMessageId ?? '')?.[1]);
      if (this.bySeq.has(seq)) this.answer(seq, settle);
      else this.earlyReplies.add(seq);
    } else if (frame.type === 'error') {
      const id = frame.clientMessageId;
      if (id && this.pending.delete(id)) settle(id, String(frame.code));
      else settle('', String(frame.code));
    } else if (frame.type === 'queue' || frame.type === 'callback_offer') {
      settle('', `unexpected ${frame.type} frame`);
    }
  }

  answer(seq, settle) {
    const id = this.bySeq.get(seq);
    this.bySeq.delete(seq);
    if (id && this.pending.delete(id)) settle(id);
  }

  send(id, text) {
    this.pending.add(id);
    this.ws.send(JSON.stringify({ type: 'message', clientMessageId: id, text }));
  }
}

/**
 * A share of the sessions against one target.
 * target: { baseUrl, widgetKey, origin } (the gateway, or the echo baseline).
 */
export class LoadShard {
  constructor(target) {
    this.target = target;
    /** @type {Session[]} */
    this.sessions = [];
    /** @type {Map<string, number>} clientMessageId -> when it was due */
    this.due = new Map();
    this.run = undefined;
  }

  /**
   * Opens `count` sessions, `concurrency` at a time; returns connect times
   * (session request to the `state` frame answering `resume`: the widget is
   * ready, ms) and refusals by reason.
   */
  async connect(count, concurrency = 50) {
    const connectMs = [];
    /** @type {Record<string, number>} */
    const failures = {};
    let next = 0;
    const open = async () => {
      const { status, body } = await createSession(
        this.target.baseUrl,
        { widgetKey: this.target.widgetKey },
        this.target.origin,
      );
      if (status !== 201) throw new Error(`session ${status} ${body.code ?? ''}`.trim());
      return openSocket(
        this.target.baseUrl,
        body.websocketPath,
        body.sessionToken,
        this.target.origin,
      );
    };
    // One unmeasured session first: the thread's first request pays for loading code.
    (await open().catch(() => undefined))?.terminate();
    const one = async () => {
      const t0 = now();
      const ws = await open();
      const session = new Session(ws, (id, error) => this.settle(id, error));
      ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
      let timer;
      await Promise.race([
        session.resumed,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no state frame within 15 s')), 15_000);
        }),
      ])
        .finally(() => clearTimeout(timer))
        .catch((err) => {
          ws.terminate();
          throw err;
        });
      connectMs.push(now() - t0);
      this.sessions.push(session);
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          next++;
          await one().catch((err) => bump(failures, String(err.message).slice(0, 60)));
        }
      }),
    );
    return { connectMs, failures, open: this.sessions.length };
  }

  /** Records an answer (no error) or a failure of message `id` (or of the session, id ''). */
  settle(id, error) {
    const run = this.run;
    if (!run) return;
    if (!id) {
      if (error) bump(run.errors, error);
      return;
    }
    const dueAt = this.due.get(id);
    if (dueAt === undefined) return;
    this.due.delete(id);
    if (error) {
      bump(run.errors, error);
      return;
    }
    const at = now();
    const latency = at - dueAt;
    run.latencies.push(latency);
    run.dueOffsets.push(dueAt - run.startAt);
    run.lastAnswerAt = at;
    if (latency > run.answerTimeoutMs) bump(run.errors, 'answered after the timeout');
  }

  /**
   * Sends messages at `rate` per second from `startAt` (epoch ms) for
   * `durationMs`, arrivals spread over the sessions in turn; `phase` (0..1)
   * offsets this shard's arrivals between other shards'. Waits up to
   * `answerTimeoutMs` after the last arrival for the answers.
   */
  async drive({ rate, durationMs, startAt, phase = 0, answerTimeoutMs, idPrefix }) {
    const total = Math.floor((rate * durationMs) / 1000);
    const run = {
      startAt,
      latencies: [],
      dueOffsets: [],
      /** @type {Record<string, number>} */
      errors: {},
      lagMs: [],
      scheduled: total,
      sent: 0,
      lastAnswerAt: startAt,
      answerTimeoutMs,
      backlogAtLastArrival: 0,
    };
    this.run = run;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const interval = 1000 / rate;
    for (let k = 0; k < total; k++) {
      const dueAt = startAt + (k + phase) * interval;
      const wait = dueAt - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      run.lagMs.push(Math.max(0, now() - dueAt));
      const id = `${idPrefix}-${k}`;
      const session = this.sessions[k % this.sessions.length];
      if (!session) {
        bump(run.errors, 'no session');
        continue;
      }
      if (session.closed) {
        bump(run.errors, 'socket closed');
        continue;
      }
      this.due.set(id, dueAt);
      session.send(id, QUESTIONS[k % QUESTIONS.length]);
      run.sent++;
    }
    run.backlogAtLastArrival = this.due.size;
    const lastDue = startAt + (total - 1 + phase) * interval;
    while (this.due.size > 0 && now() < lastDue + answerTimeoutMs)
      await new Promise((r) => setTimeout(r, 50));
    for (const [id] of this.due) {
      bump(run.errors, 'unanswered');
      for (const s of this.sessions) s.pending.delete(id);
    }
    this.due.clear();
    loop.disable();
    this.run = undefined;
    return {
      latencies: run.latencies,
      dueOffsets: run.dueOffsets,
      errors: run.errors,
      lagMs: run.lagMs,
      scheduled: run.scheduled,
      sent: run.sent,
      answered: run.latencies.length,
      lastAnswerAt: run.lastAnswerAt,
      backlogAtLastArrival: run.backlogAtLastArrival,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      openSessions: this.sessions.filter((s) => !s.closed).length,
    };
  }

  close() {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions = [];
  }
}
