// A child process of connections.mjs holding up to ~18,000 idle widget
// sessions (a process may not open more than 20,000 files here). Commands
// come over IPC: { cmd: 'open', targets, count, widgetKey, origin },
// { cmd: 'count' } (sockets still open), { cmd: 'close' }.
import { createSession, openSocket } from '@parley/testing';

/** @type {import('ws').WebSocket[]} */
const sockets = [];
const BATCH = 50;

async function open({ targets, count, widgetKey, origin }) {
  let failed = 0;
  let firstError;
  for (let i = 0; i < count; i += BATCH) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(BATCH, count - i) }, async (_, j) => {
        const baseUrl = targets[(i + j) % targets.length];
        const { status, body } = await createSession(baseUrl, { widgetKey }, origin);
        if (status !== 201) throw new Error(`session ${status} ${JSON.stringify(body)}`);
        const ws = await openSocket(baseUrl, body.websocketPath, body.sessionToken, origin);
        ws.on('error', () => undefined);
        ws.send(JSON.stringify({ type: 'resume', afterSeq: 0 }));
        return ws;
      }),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') sockets.push(r.value);
      else {
        failed++;
        firstError ??= String(r.reason?.message ?? r.reason);
      }
    }
  }
  return { opened: sockets.length, failed, firstError };
}

process.on('message', async (message) => {
  if (message.cmd === 'open') process.send(await open(message));
  else if (message.cmd === 'count')
    process.send({ open: sockets.filter((ws) => ws.readyState === 1).length });
  else if (message.cmd === 'close') {
    for (const ws of sockets) ws.terminate();
    process.send({ closed: sockets.length });
    process.exit(0);
  }
});
